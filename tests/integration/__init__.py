"""Integration tests: the simulator over real HTTP, real mosquitto brokers."""

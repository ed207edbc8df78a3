"""The commands of `flume-mqtt` and `make demo`, one module each (body and output)."""

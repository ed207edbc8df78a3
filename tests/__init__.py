"""The flume-mqtt test suite."""

"""Helpers shared by the tests: real brokers and their certificates."""

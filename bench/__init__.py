"""Benchmarks that print figures: `make bench` (python -m bench) prints the table."""

"""Flume cloud API simulator: a deterministic household behind the real routes."""

"""Unit tests: pure, in-process."""

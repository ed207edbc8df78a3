"""End-to-end tests: the command line as a subprocess."""

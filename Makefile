# Two commands for people (README quick start): `make demo` and `make test`.
# Both set up what they need: a .venv with the project, and the mosquitto broker.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck pytest venv system-deps clean

demo: $(STAMP)
	$(BIN)/python -m bridge.simulator.tour

test: system-deps $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest --cov --cov-report=term $(PYTEST_ARGS)

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || sh .ci/apt-install python3-venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# The tests start their own brokers from the mosquitto package, and TLS certificates
# are made with openssl at test time.
system-deps:
	@command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto \
		|| sh .ci/apt-install mosquitto \
		|| echo "flume-mqtt: continuing: the broker tests will be skipped" >&2
	@command -v openssl >/dev/null 2>&1 || sh .ci/apt-install openssl \
		|| echo "flume-mqtt: continuing: the TLS broker tests will be skipped" >&2

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .coverage .hypothesis

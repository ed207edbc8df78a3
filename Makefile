# Two commands for people (README quick start): `make demo` and `make test`.
# Both set up what they need: a .venv with the project, and the mosquitto broker.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
# The demo needs only the four runtime dependencies: on a Raspberry Pi the dev tools
# (mypy, ruff, hypothesis ...) would take minutes to install before anything shows.
RUN_STAMP := $(VENV)/.installed

.PHONY: demo test bench soak lint typecheck pytest venv system-deps demo-deps bench-deps \
	install uninstall clean

# The bridge against its built-in simulator, on the broker at MQTT_HOST:MQTT_PORT or,
# when none answers, on a private mosquitto of its own (README "Quick start").
demo: demo-deps $(RUN_STAMP)
	$(BIN)/python -m bridge.commands.demo

test: system-deps $(STAMP) lint typecheck pytest

# The benchmark table of README "Performance": about 10 minutes, not part of `make test`.
# BENCH_ARGS=--quick: a 30 s steady run and 2,000 cycles.
bench: bench-deps $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# The week-long soak of README "Reliability": a few minutes, not part of `make test`.
soak: system-deps $(STAMP)
	$(BIN)/pytest -m slow -s $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest --cov --cov-report=term $(PYTEST_ARGS)

venv: $(STAMP)

$(RUN_STAMP): pyproject.toml
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || sh .ci/apt-install python3-venv
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || sh .ci/apt-install python3-venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@
	@touch $(RUN_STAMP)

# The demo's private broker; never fatal, since a broker may already answer.
demo-deps:
	@command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto \
		|| sh .ci/apt-install mosquitto \
		|| echo "flume-mqtt: continuing: the demo needs a broker on MQTT_HOST:MQTT_PORT" >&2

# The benchmarks run a private broker: no figures without one.
bench-deps:
	@command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto \
		|| sh .ci/apt-install mosquitto

# The tests start their own brokers from the mosquitto package, TLS certificates
# are made with openssl at test time, systemd-analyze checks the unit, shellcheck
# the install script, and libfaketime (package faketime) moves a bridge's host clock.
system-deps:
	@command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto \
		|| sh .ci/apt-install mosquitto \
		|| echo "flume-mqtt: continuing: the broker tests will be skipped" >&2
	@command -v faketime >/dev/null 2>&1 || sh .ci/apt-install faketime \
		|| echo "flume-mqtt: continuing: the host clock tests will be skipped" >&2
	@command -v openssl >/dev/null 2>&1 || sh .ci/apt-install openssl \
		|| echo "flume-mqtt: continuing: the TLS broker tests will be skipped" >&2
	@command -v systemd-analyze >/dev/null 2>&1 || sh .ci/apt-install systemd \
		|| echo "flume-mqtt: continuing: the systemd unit tests will be skipped" >&2
	@command -v shellcheck >/dev/null 2>&1 || sh .ci/apt-install shellcheck \
		|| echo "flume-mqtt: continuing: the install script lint will be skipped" >&2

# The Raspberry Pi service (README "Raspberry Pi"): a venv in /opt/flume-mqtt, the unit,
# and /etc/flume-mqtt; `uninstall` keeps the settings (systemd/install.sh --help).
install:
	sh systemd/install.sh

uninstall:
	sh systemd/install.sh --uninstall

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .coverage .hypothesis

"""Shared fixtures: loopback-only sockets, a clean environment, brokers, simulators."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.simulator.account import SimConfig
from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator
from tests.support.broker import (
    Broker,
    TlsFiles,
    find_mosquitto,
    free_port,
    make_tls_files,
)
from tests.support.mqtt import Subscriber, subscriber
from tests.support.programs import require, require_program
from tests.support.simulator import START, SimFactory

# Variables a developer's shell may carry that would change what the code does.
ENV_PREFIXES = (
    "FLUME_",
    "MQTT_",
    "HA_",
    "STATE_",
    "CREDENTIALS_",
    "NOTIFY_",
    "JOURNAL_",
)
ENV_NAMES = (
    "UNITS",
    "METER_OFFSET",
    "LOG_LEVEL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "REQUESTS_CA_BUNDLE",
)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_loopback(address: Any) -> None:
    if not isinstance(address, tuple):
        return  # AF_UNIX paths stay on this machine
    host = address[0]
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ConnectionRefusedError(
            f"tests may only connect to loopback, not {host!r}"
        )


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check_loopback(address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check_loopback(address)
    return _real_connect_ex(self, address)


def pytest_configure(config: pytest.Config) -> None:
    """Refuse every outbound connection that would leave this machine."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]  # test-wide guard
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign,assignment]  # likewise


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run every test without the developer's settings and away from their `.env`."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES) or name in ENV_NAMES:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Undo any logging set-up a test ran (cli.main configures the root logger)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    libraries = {name: logging.getLogger(name).level for name in ("urllib3", "paho")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, library_level in libraries.items():
        logging.getLogger(name).setLevel(library_level)


def _require_mosquitto() -> None:
    require(find_mosquitto(), "mosquitto")


BrokerFactory = Callable[..., Broker]


@pytest.fixture
def broker_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerFactory]:
    """Start brokers of any variant for one test; every one is stopped afterwards."""
    _require_mosquitto()
    started: list[Broker] = []

    def start(**options: Any) -> Broker:
        broker = Broker(tmp_path_factory.mktemp("mosquitto"), free_port(), **options)
        broker.start()
        started.append(broker)
        return broker

    yield start
    for broker in started:
        broker.stop()


@pytest.fixture
def broker(broker_factory: BrokerFactory) -> Broker:
    """A broker of the test's own: nothing retained from another test."""
    return broker_factory()


@pytest.fixture
def watch(broker: Broker) -> Iterator[Subscriber]:
    """Everything the bridge publishes on the test's broker, from now on."""
    with subscriber(broker, ("flume/#", "homeassistant/#")) as sub:
        yield sub


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throw-away CA, a server certificate for 127.0.0.1 and a client certificate."""
    require_program("openssl")
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """An anonymous broker shared by the session."""
    _require_mosquitto()
    broker = Broker(tmp_path_factory.mktemp("mosquitto"), free_port())
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def mosquitto_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A broker that accepts only user `bridge` with password `broker-secret`."""
    _require_mosquitto()
    broker = Broker(
        tmp_path_factory.mktemp("mosquitto"),
        free_port(),
        username="bridge",
        password="broker-secret",
    )
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def mosquitto_tls(
    tmp_path_factory: pytest.TempPathFactory, tls_files: TlsFiles
) -> Iterator[Broker]:
    """A TLS broker that requires a client certificate signed by the test CA."""
    _require_mosquitto()
    broker = Broker(tmp_path_factory.mktemp("mosquitto"), free_port(), tls=tls_files)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def sim_factory() -> Iterator[SimFactory]:
    """Start simulators with any SimConfig fields (frozen clock at START by default)."""
    started: list[Simulator] = []

    def start(clock: SimClock | None = None, **config: Any) -> Simulator:
        simulator = Simulator(SimConfig(**config), clock or SimClock(START, speed=0.0))
        simulator.start("127.0.0.1", 0)
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        simulator.stop()


@pytest.fixture
def sim(sim_factory: SimFactory) -> Simulator:
    """A simulator on a free port: one sensor in America/Los_Angeles, clock at START."""
    return sim_factory()

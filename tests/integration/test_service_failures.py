"""The Service when Flume fails: transient errors retried, permanent ones end it."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from bridge.errors import ConfigError, FlumeAuthError
from bridge.mqtt import MqttPublisher
from bridge.service import Service
from bridge.service.systemd import Notifier
from bridge.simulator.server import Simulator
from tests.conftest import BrokerFactory
from tests.support.bridge import newest_state
from tests.support.broker import Broker
from tests.support.flume import DEMO, add_fault
from tests.support.mqtt import Subscriber
from tests.support.service import (
    eventually,
    made_parts,
    running,
    service_settings,
    serving,
)

QUERY_ROUTE = "/users/*/devices/*/query"
LEAKS_ROUTE = "/users/*/devices/*/leaks/active"


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The log at INFO, and bridge.service at DEBUG, from every thread."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="bridge.service")
    return caplog


def records(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    """The records so far whose message contains `text`."""
    return [r for r in list(caplog.records) if text in r.getMessage()]


def last_error(watch: Subscriber) -> str | None:
    """The newest diagnostics' last_error."""
    found: str | None = watch.on("flume/diagnostics")[-1].json()["last_error"]
    return found


def test_a_transient_failure_is_logged_once_retried_and_keeps_the_last_values(
    sim: Simulator,
    broker: Broker,
    watch: Subscriber,
    log: pytest.LogCaptureFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two 503s: WARNING, DEBUG, a retry after RETRY_MIN, INFO once Flume answers."""
    monkeypatch.setattr("bridge.service.loop.RETRY_MIN", 1)
    sensor = sim.model.account.sensors[0].id
    topic = f"flume/{sensor}/state"
    with running(service_settings(sim, broker, tmp_path / "state")) as service:
        newest_state(watch, sensor, leak=lambda v: v is not None)
        good = watch.on(topic)[-1].payload
        add_fault(sim, route=QUERY_ROUTE, status=503, count=2)
        watch.send("flume/command/refresh", b"go")
        eventually(lambda: bool(records(log, "Flume answers again after 2 failed")))
        assert service.finish() is None
    failures = [r for r in records(log, f"usage {sensor}: ") if "503" in r.getMessage()]
    assert [r.levelno for r in failures] == [logging.WARNING, logging.DEBUG]
    assert "503" in failures[0].getMessage()
    assert records(log, f"usage {sensor}: trying again in 1 s")
    error = last_error(watch)
    assert error is not None
    assert error.startswith(f"usage {sensor}: ")
    assert "503" in error
    assert watch.on(topic)[-1].payload == good  # nothing published in between
    assert watch.on(f"flume/{sensor}/availability")[-1].payload == b"online"


def test_a_429_with_retry_after_postpones_every_call(
    sim: Simulator,
    broker: Broker,
    watch: Subscriber,
    log: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """The job is retried after Retry-After; the budget holds refreshes till then."""
    add_fault(sim, route=LEAKS_ROUTE, status=429, retry_after=100)
    sensor = sim.model.account.sensors[0].id
    with running(service_settings(sim, broker, tmp_path / "state")) as service:
        eventually(lambda: bool(records(log, "trying again in 100 s")))
        watch.send("flume/command/refresh", b"go")
        eventually(lambda: bool(records(log, "the budget has room again in 100 s")))
        assert service.finish() is None
    assert records(log, "pausing for 100 s")[0].levelno == logging.WARNING
    assert records(log, f"leaks {sensor}: ")[0].levelno == logging.WARNING
    error = last_error(watch)
    assert error is not None
    assert error.startswith(f"leaks {sensor}: ")
    assert "429" in error


def test_a_refused_password_ends_the_service_offline(
    sim: Simulator, broker: Broker, watch: Subscriber, tmp_path: Path
) -> None:
    """Wrong Flume credentials: run() raises FlumeAuthError and `offline` is sent."""
    wrong = dataclasses.replace(DEMO, password=SecretStr("not-the-password"))
    settings = service_settings(sim, broker, tmp_path / "state")
    with running(settings, wrong) as service:
        assert isinstance(service.ended(), FlumeAuthError)
    watch.wait_topic("flume/status", b"offline")
    assert not any(s.topic.endswith("/state") for s in watch.seen)


def test_a_token_endpoint_answering_400_is_permanent_too(
    sim: Simulator, broker: Broker, watch: Subscriber, tmp_path: Path
) -> None:
    """A 400 from /oauth/token (Flume's answer to a bad password) ends run()."""
    add_fault(sim, route="/oauth/token", status=400)
    with running(service_settings(sim, broker, tmp_path / "state")) as service:
        assert isinstance(service.ended(), FlumeAuthError)
    watch.wait_topic("flume/status", b"offline")


def test_device_ids_not_in_the_account_end_the_service_at_the_first_list(
    sim: Simulator, broker: Broker, watch: Subscriber, tmp_path: Path
) -> None:
    """FLUME_DEVICE_IDS with an unknown id: ConfigError naming it, then `offline`."""
    settings = service_settings(
        sim, broker, tmp_path / "state", flume_device_ids=("123",)
    )
    with running(settings) as service:
        error = service.ended()
    assert isinstance(error, ConfigError)
    assert str(error) == "FLUME_DEVICE_IDS: not in this account: 123"
    watch.wait_topic("flume/status", b"offline")


class Trap:
    """Flume's clock, which raises once on the call after `arm()`."""

    def __init__(self) -> None:
        self.armed = threading.Event()

    def wrap(self, flume_now: Callable[[], datetime]) -> Callable[[], datetime]:
        """The `now` of Parts."""

        def now() -> datetime:
            if self.armed.is_set():
                self.armed.clear()
                raise RuntimeError("a bug in a job")
            return flume_now()

        return now


def test_an_unexpected_exception_in_a_job_is_logged_and_the_loop_carries_on(
    sim: Simulator,
    broker: Broker,
    watch: Subscriber,
    log: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """A job raising anything: ERROR with traceback, last_error set, still serving."""
    settings = service_settings(sim, broker, tmp_path / "state")
    sensor = sim.model.account.sensors[0].id
    trap, stop = Trap(), threading.Event()
    with made_parts(settings, now=trap.wrap) as parts:
        service = Service(parts, MqttPublisher(settings), Notifier({}), stop)
        with serving(service, stop) as thread:
            # The first polls are over once leaks/active has been asked.
            newest_state(watch, sensor, leak=lambda v: v is not None)
            trap.armed.set()
            watch.send("flume/command/refresh", b"go")
            eventually(lambda: bool(records(log, "unexpected failure")))
            watch.send("flume/command/republish", b"")
            eventually(lambda: bool(records(log, "republishing")))
            assert thread.finish() is None
    failure = records(log, f"unexpected failure in the usage {sensor} job")[0]
    assert failure.levelno == logging.ERROR
    assert failure.exc_info is not None
    assert str(failure.exc_info[1]) == "a bug in a job"
    assert last_error(watch) == f"usage {sensor}: unexpected failure (see the log)"


def test_flume_down_at_start_is_retried_until_the_devices_are_listed(
    sim: Simulator,
    broker: Broker,
    watch: Subscriber,
    log: pytest.LogCaptureFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failed first device list is tried again; no states before it succeeds."""
    monkeypatch.setattr("bridge.service.loop.RETRY_MIN", 1)
    add_fault(sim, route="/users/*/devices", status=503)
    sensor = sim.model.account.sensors[0].id
    with running(service_settings(sim, broker, tmp_path / "state")) as service:
        newest_state(watch, sensor, today=lambda v: v is not None)
        assert service.finish() is None
    messages = [r.getMessage() for r in log.records]
    assert messages.index("devices: trying again in 1 s") < messages.index(
        "first states published"
    )


def test_a_429_longer_than_the_interval_waits_for_the_next_planned_run(
    sim: Simulator,
    broker: Broker,
    watch: Subscriber,
    log: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """Retry-After beyond the usage interval: no extra retry, the schedule will do."""
    add_fault(sim, route=QUERY_ROUTE, status=429, retry_after=120)
    sensor = sim.model.account.sensors[0].id
    with running(service_settings(sim, broker, tmp_path / "state")) as service:
        # leaks/active, the job after it, finds the budget paused too.
        eventually(lambda: bool(records(log, f"leaks {sensor}: trying again in")))
        assert service.finish() is None
    assert records(log, f"usage {sensor}: ")[0].levelno == logging.WARNING
    assert not records(log, f"usage {sensor}: trying again")


def test_a_broker_refusing_the_login_does_not_end_the_service(
    sim: Simulator,
    broker_factory: BrokerFactory,
    log: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """Wrong MQTT credentials at start: one ERROR naming them; Flume is polled on."""
    broker = broker_factory(username="bridge", password="broker-secret")
    settings = service_settings(
        sim,
        broker,
        tmp_path / "state",
        mqtt_username="bridge",
        mqtt_password="wrong",
    )
    with running(settings) as service:
        eventually(lambda: any(service.service.jobs.board.last_success().values()))
        assert service.finish() is None
    refusals = [r for r in log.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in refusals] == [
        f"MQTT broker {broker.host}:{broker.port}: login refused (Not authorized); "
        "check MQTT_USERNAME and MQTT_PASSWORD; asking again at most a minute apart, "
        "polling Flume meanwhile"
    ]

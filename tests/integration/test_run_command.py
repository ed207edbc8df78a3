"""`run` in-process: serve() until a signal (idle or mid-request); --demo's twin."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest
import requests

from bridge.commands.run import serve
from bridge.commands.simulate import simulated
from bridge.simulator.server import Simulator
from tests.conftest import BrokerFactory
from tests.support.bridge import newest_state
from tests.support.broker import Broker
from tests.support.flume import DEMO, add_fault
from tests.support.mqtt import Subscriber, broker_settings, subscriber
from tests.support.service import eventually, running, service_settings

DELAY = 3.0  # seconds the simulator holds the delayed answer


@pytest.fixture(autouse=True)
def harmless_sigterm() -> Iterator[None]:
    """A SIGTERM that outlives serve()'s handlers must not end the test run."""

    def ignore(_signum: int, _frame: FrameType | None) -> None:
        pass

    previous = signal.signal(signal.SIGTERM, ignore)
    yield
    signal.signal(signal.SIGTERM, previous)


def terminate_when(ready: Callable[[], object]) -> threading.Thread:
    """SIGTERM the main thread, where serve() runs, once `ready()` returns."""
    main = threading.main_thread().ident
    assert main is not None

    def wait_then_signal() -> None:
        try:
            ready()
        finally:  # whatever happened, serve() must end
            signal.pthread_kill(main, signal.SIGTERM)

    thread = threading.Thread(target=wait_then_signal)
    thread.start()
    return thread


def faults_left(sim: Simulator) -> int:
    """How many fault rules the simulator has not used up."""
    response = requests.get(f"{sim.url}/_sim/faults", timeout=10)
    return len(response.json()["faults"])


def test_sigterm_while_idle_stops_serve_with_offline(
    sim: Simulator, broker: Broker, watch: Subscriber, tmp_path: Path
) -> None:
    """serve() returns on SIGTERM after `offline`, and puts the old handlers back."""
    sensor = sim.model.account.sensors[0].id
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    # Idle: leaks/active, the last of the first jobs, has been answered.
    waiter = terminate_when(
        lambda: newest_state(watch, sensor, leak=lambda v: v is not None)
    )
    serve(service_settings(sim, broker, tmp_path / "state"), DEMO)
    waiter.join()
    watch.wait_topic("flume/status", b"offline")
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_sigterm_while_a_job_waits_on_flume_abandons_the_job(
    sim: Simulator,
    broker: Broker,
    watch: Subscriber,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stop signal mid-request ends serve() at once, not when Flume answers."""
    caplog.set_level(logging.INFO)
    add_fault(sim, route="/users/*/devices/*/query", delay=DELAY)
    waiter = terminate_when(lambda: eventually(lambda: faults_left(sim) == 0))
    started = time.monotonic()
    serve(service_settings(sim, broker, tmp_path / "state"), DEMO)
    elapsed = time.monotonic() - started
    waiter.join()
    assert elapsed < DELAY
    watch.wait_topic("flume/status", b"offline")
    assert "stopping" in caplog.messages
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_demo_serves_a_fresh_simulator_with_its_own_state_dir(
    broker: Broker, watch: Subscriber
) -> None:
    """simulated(): a loopback simulator and a temporary STATE_DIR, gone after."""
    settings = broker_settings(broker)
    with simulated(settings) as (demo, login):
        assert demo.flume_api_url.startswith("http://127.0.0.1:")
        assert demo.mqtt_port == broker.port
        with running(demo, login) as service:
            found = watch.wait_for(
                lambda seen: any(s.topic.endswith("/state") for s in seen)
            )
            assert service.finish() is None
        state_dir = demo.state_dir
        assert (state_dir / "meter.json").exists()
    assert not state_dir.exists()
    assert found


def test_the_broker_down_at_start_does_not_stop_polling(
    sim: Simulator,
    broker_factory: BrokerFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Flume is polled while the broker is away; its states arrive once it is up."""
    caplog.set_level(logging.INFO)
    monkeypatch.setattr("bridge.service.loop.BROKER_WAIT", 0.2)
    broker = broker_factory()
    broker.stop()
    sensor = sim.model.account.sensors[0].id
    with running(service_settings(sim, broker, tmp_path / "state")) as service:
        eventually(lambda: any(service.service.jobs.board.last_success().values()))
        assert "first states published" not in caplog.messages
        broker.start()
        with subscriber(broker, ("flume/#",)) as watch:
            newest_state(watch, sensor, today=lambda v: v is not None)
            watch.wait_topic("flume/status", b"online")
        eventually(lambda: "first states published" in caplog.messages)
        assert service.finish() is None
    assert any("polling Flume meanwhile" in m for m in caplog.messages)

"""Integration fixtures: simulator sessions, wired Flume clients, jobs, publishers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.mqtt import MqttPublisher, Timing
from bridge.simulator.server import Simulator
from tests.support.broker import Broker
from tests.support.flume import WiringFactory, wirings
from tests.support.mqtt import Publishers, broker_settings
from tests.support.service import JobsFactory, jobs_factory
from tests.support.simulator import SimSession, login


@pytest.fixture
def session_for() -> Iterator[Callable[[Simulator], SimSession]]:
    """Make anonymous sessions bound to a simulator; all are closed afterwards."""
    sessions: list[SimSession] = []

    def make(simulator: Simulator) -> SimSession:
        session = SimSession(simulator.url)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def login_as() -> Callable[[SimSession], dict[str, Any]]:
    """The password-grant helper: logs a session in and returns the grant."""
    return login


@pytest.fixture
def anon(sim: Simulator, session_for: Callable[[Simulator], SimSession]) -> SimSession:
    """An unauthenticated session on `sim`."""
    return session_for(sim)


@pytest.fixture
def api(sim: Simulator, session_for: Callable[[Simulator], SimSession]) -> SimSession:
    """A session on `sim` logged in as the demo user."""
    session = session_for(sim)
    login(session)
    return session


@pytest.fixture
def uid(sim: Simulator) -> int:
    """The demo user's id."""
    return sim.model.account.user_id


@pytest.fixture
def sensor_id(sim: Simulator) -> str:
    """The first water sensor's id."""
    return sim.model.account.sensors[0].id


@pytest.fixture
def bridge_id(sim: Simulator) -> str:
    """The first Flume Bridge's id."""
    return next(d.id for d in sim.model.account.devices if not d.is_sensor)


@pytest.fixture
def wire() -> Iterator[WiringFactory]:
    """Wire the Flume client's transport and tokens to simulators (bridge.flume)."""
    with wirings() as factory:
        yield factory


@pytest.fixture
def make_jobs(tmp_path: Path) -> Iterator[JobsFactory]:
    """Jobs wired to a simulator as the service wires them; sessions closed after."""
    with jobs_factory(tmp_path / "state") as make:
        yield make


@pytest.fixture
def publishers(broker: Broker) -> Iterator[Publishers]:
    """Start connected publishers on `broker`; each is stopped afterwards."""
    started: list[MqttPublisher] = []

    def start(timing: Timing | None = None, **fields: Any) -> MqttPublisher:
        publisher = MqttPublisher(
            broker_settings(broker, **fields), timing=timing or Timing()
        )
        publisher.start()
        started.append(publisher)
        publisher.wait_connected(10)
        return publisher

    yield start
    for publisher in started:
        publisher.stop(timeout=2)

"""Simulator fixtures: simulators on a frozen clock, and sessions bound to them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from bridge.simulator.account import SimConfig
from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator

# A Tuesday in March, after the US and before the EU spring-forward.
START = datetime(2026, 3, 10, 18, 30, 15, tzinfo=UTC)
PASSWORD_GRANT = {
    "grant_type": "password",
    "client_id": "demo-client",
    "client_secret": "demo-secret",
    "username": "demo@example.com",
    "password": "demo-password",
}
TIMEOUT = 10


class SimSession(requests.Session):
    """A session whose relative URLs ("/users/...") go to one simulator."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def request(  # type: ignore[override]  # same call, relative URLs allowed
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send a request, prefixing relative URLs and defaulting the timeout."""
        kwargs.setdefault("timeout", TIMEOUT)
        full = self.base_url + url if url.startswith("/") else url
        return super().request(method, full, *args, **kwargs)


SimFactory = Callable[..., Simulator]


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
    """A default simulator: one sensor in America/Los_Angeles, clock frozen at START."""
    return sim_factory()


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


def login(session: SimSession) -> dict[str, Any]:
    """Run the password grant on `session` and use the access token from then on."""
    response = session.post("/oauth/token", json=PASSWORD_GRANT)
    response.raise_for_status()
    grant: dict[str, Any] = response.json()["data"][0]
    session.headers["Authorization"] = f"Bearer {grant['access_token']}"
    return grant


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

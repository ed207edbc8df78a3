"""Helpers for tests of the Flume client: a recording budget and wired-up clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr

from bridge.errors import FlumeRateLimitError
from bridge.flume.http import FlumeHttp
from bridge.flume.tokens import Credentials, TokenManager, TokenStore
from bridge.simulator.server import Simulator

DEMO = Credentials(
    client_id="demo-client",
    client_secret=SecretStr("demo-secret"),
    username="demo@example.com",
    password=SecretStr("demo-password"),
)


@dataclass
class RecordingBudget:
    """A budget that admits everything unless paused, and remembers what happened."""

    acquired: int = 0
    essential: int = 0
    successes: int = 0
    pauses: list[float | None] = field(default_factory=list)
    refuse: bool = False

    def acquire(self, *, essential: bool = False) -> None:
        """Count a request, or refuse while `refuse` is set."""
        if self.refuse:
            raise FlumeRateLimitError("budget", status=None, retry_after=60.0)
        self.acquired += 1
        self.essential += essential

    def pause(self, retry_after: float | None) -> None:
        """Remember a 429 pause."""
        self.pauses.append(retry_after)

    def success(self) -> None:
        """Count an answered request."""
        self.successes += 1

    def release(self) -> None:
        """Nothing is taken ahead here."""


def sim_stats(sim: Simulator) -> dict[str, Any]:
    """GET /_sim/stats over HTTP."""
    response = requests.get(f"{sim.url}/_sim/stats", timeout=10)
    response.raise_for_status()
    stats: dict[str, Any] = response.json()
    return stats


def route_count(sim: Simulator, route: str) -> int:
    """Requests the simulator answered on `route`, e.g. "POST /oauth/token"."""
    routes: dict[str, dict[str, int]] = sim_stats(sim)["by_route"]
    return routes.get(route, {}).get("total", 0)


def add_fault(sim: Simulator, **rule: Any) -> None:
    """POST a fault rule to the simulator."""
    response = requests.post(f"{sim.url}/_sim/faults", json=rule, timeout=10)
    response.raise_for_status()


@dataclass
class Wiring:
    """A session, transport and token manager bound to one simulator."""

    sim: Simulator
    http: FlumeHttp
    tokens: TokenManager
    budget: RecordingBudget


WiringFactory = Callable[..., Wiring]


@contextmanager
def wirings() -> Iterator[WiringFactory]:
    """Wire the Flume client pieces to simulators; every session is closed after."""
    sessions: list[requests.Session] = []

    def wire(
        sim: Simulator,
        state_dir: Path | None = None,
        credentials: Credentials = DEMO,
        timeout: float = 5.0,
    ) -> Wiring:
        session = requests.Session()
        sessions.append(session)
        budget = RecordingBudget()
        http = FlumeHttp(session, sim.url, timeout, budget)
        store = TokenStore(state_dir) if state_dir is not None else None
        tokens = TokenManager(http, credentials, store, now=sim.clock.now)
        return Wiring(sim, http, tokens, budget)

    try:
        yield wire
    finally:
        for session in sessions:
            session.close()

"""Helpers for tests against the simulator: the demo grant, bound sessions, login."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

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


def login(session: SimSession) -> dict[str, Any]:
    """Run the password grant on `session` and use the access token from then on."""
    response = session.post("/oauth/token", json=PASSWORD_GRANT)
    response.raise_for_status()
    grant: dict[str, Any] = response.json()["data"][0]
    session.headers["Authorization"] = f"Bearer {grant['access_token']}"
    return grant


def truth(sim: Simulator, device_id: str, since: datetime, until: datetime) -> float:
    """Exact gallons of [since, until) from GET /_sim/truth."""
    params = {
        "device_id": device_id,
        "since": since.isoformat(),
        "until": until.isoformat(),
    }
    response = requests.get(f"{sim.url}/_sim/truth", params=params, timeout=TIMEOUT)
    response.raise_for_status()
    return float(response.json()["gallons"])

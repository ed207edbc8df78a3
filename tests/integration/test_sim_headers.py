"""Rate-limit headers over real HTTP: on every Flume answer, from the real counter."""

from __future__ import annotations

from typing import Any

import requests

from bridge.simulator.behaviour import Behaviour
from bridge.simulator.server import Simulator
from tests.support.simulator import PASSWORD_GRANT, START

LOGIN = int(START.timestamp())  # the clock is frozen: every request is at START
HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def budget(response: requests.Response) -> tuple[int, int, int]:
    limit, remaining, reset = (int(response.headers[name]) for name in HEADERS)
    return limit, remaining, reset


def test_every_answer_tells_the_accounts_budget(
    sim_factory: Any, session_for: Any
) -> None:
    """Token calls, 200s, 404s and 429s carry Limit, Remaining and Reset."""
    sim = sim_factory(rate_limit=4)
    session = session_for(sim)
    grant = session.post("/oauth/token", json=PASSWORD_GRANT)
    assert budget(grant) == (4, 3, LOGIN + 3600)
    session.headers["Authorization"] = (
        f"Bearer {grant.json()['data'][0]['access_token']}"
    )
    uid = sim.model.account.user_id
    assert budget(session.get(f"/users/{uid}")) == (4, 2, LOGIN + 3600)
    missing = session.get(f"/users/{uid}/devices/404")
    assert (missing.status_code, budget(missing)) == (404, (4, 1, LOGIN + 3600))
    assert budget(session.get(f"/users/{uid}/devices")) == (4, 0, LOGIN + 3600)
    refused = session.get(f"/users/{uid}/devices")
    assert (refused.status_code, budget(refused)) == (429, (4, 0, LOGIN + 3600))
    assert "Retry-After" not in refused.headers


def test_reset_is_when_a_request_is_admitted_again(
    sim_factory: Any, session_for: Any, login_as: Any
) -> None:
    """Waiting until X-RateLimit-Reset is enough for the next request to pass."""
    sim = sim_factory(rate_limit=2)
    session = session_for(sim)
    login_as(session)
    path = f"/users/{sim.model.account.user_id}"
    sim.clock.advance(600)
    session.get(path)
    refused = session.get(path)
    assert refused.status_code == 429
    _, _, reset = budget(refused)
    sim.clock.advance(reset - sim.clock.now().timestamp() - 1)
    assert session.get(path).status_code == 429
    sim.clock.advance(1)
    admitted = session.get(path)
    assert (admitted.status_code, budget(admitted)) == (200, (2, 0, LOGIN + 4200))


def test_headers_can_be_turned_off_and_on(
    sim_factory: Any, session_for: Any, login_as: Any
) -> None:
    """rate_headers false sends none; the control route turns them on at run time."""
    sim: Simulator = sim_factory(behaviour=Behaviour(rate_headers=False))
    session = session_for(sim)
    login_as(session)
    path = f"/users/{sim.model.account.user_id}"
    assert not set(HEADERS) & set(session.get(path).headers)
    changed = session.post("/_sim/behaviour", json={"rate_headers": True})
    assert changed.json()["rate_headers"] is True
    assert budget(session.get(path))[1] == 117
    control = session.get("/_sim/behaviour")
    assert not set(HEADERS) & set(control.headers)  # control routes are not Flume's

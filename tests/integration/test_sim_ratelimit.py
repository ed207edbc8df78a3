"""The per-user limit over a rolling hour of simulated time, over real HTTP."""

from __future__ import annotations

from typing import Any

import requests

from bridge.simulator.server import Simulator
from tests.support.simulator import PASSWORD_GRANT as GRANT

TOO_MANY = "Too many requests, please try again later."


def statuses(session: requests.Session, path: str, n: int) -> list[int]:
    return [session.get(path).status_code for _ in range(n)]


def test_the_121st_request_in_an_hour_is_a_429(
    sim: Simulator, api: requests.Session, uid: int
) -> None:
    """With the default limit, 120 requests (the login included) pass, then 429."""
    # The login was request 1; 119 more fill the hour.
    assert set(statuses(api, f"/users/{uid}", 119)) == {200}
    response = api.get(f"/users/{uid}")
    assert response.status_code == 429
    assert response.json()["message"] == TOO_MANY
    assert response.json()["success"] is False
    assert "Retry-After" not in response.headers


def test_limit_frees_up_as_the_hour_rolls(
    sim_factory: Any, session_for: Any, login_as: Any
) -> None:
    """Refused requests are not counted, and each admitted one expires after 3600 s."""
    sim = sim_factory(rate_limit=5)
    session = session_for(sim)
    login_as(session)  # request 1 at t=0
    path = f"/users/{sim.model.account.user_id}/devices"
    sim.clock.advance(1000)
    assert statuses(session, path, 4) == [200] * 4  # requests 2-5 at t=1000
    assert statuses(session, path, 3) == [429] * 3
    sim.clock.advance(2599)  # t=3599: the login is still inside the hour
    assert statuses(session, path, 1) == [429]
    sim.clock.advance(1)  # t=3600: the login has left the window
    assert statuses(session, path, 2) == [200, 429]
    sim.clock.advance(1000)  # t=4600: requests 2-5 have left as well
    assert statuses(session, path, 5) == [200] * 4 + [429]


def test_token_calls_count_and_can_be_refused(
    sim_factory: Any, session_for: Any
) -> None:
    """Password and refresh grants count against the user they name, and get 429s."""
    sim = sim_factory(rate_limit=3)
    session = session_for(sim)
    grant = session.post("/oauth/token", json=GRANT).json()["data"][0]
    refreshed = session.post(
        "/oauth/token",
        json={
            "grant_type": "refresh_token",
            "refresh_token": grant["refresh_token"],
            "client_id": "demo-client",
            "client_secret": "demo-secret",
        },
    )
    assert refreshed.status_code == 200
    headers = {"Authorization": f"Bearer {grant['access_token']}"}
    path = f"/users/{sim.model.account.user_id}"
    assert session.get(path, headers=headers).status_code == 200
    refused = session.post("/oauth/token", json=GRANT)
    assert refused.status_code == 429
    assert refused.json()["message"] == TOO_MANY


def test_failed_logins_for_the_user_count(sim_factory: Any, session_for: Any) -> None:
    """A wrong password for the account's username still uses up its budget."""
    sim = sim_factory(rate_limit=2)
    session = session_for(sim)
    wrong = {**GRANT, "password": "wrong"}
    assert [session.post("/oauth/token", json=wrong).status_code for _ in range(3)] == [
        400,
        400,
        429,
    ]


def test_unattributable_requests_are_not_limited(
    sim_factory: Any, session_for: Any
) -> None:
    """Grants for unknown users and unauthenticated calls never reach the limit."""
    sim = sim_factory(rate_limit=1)
    session = session_for(sim)
    stranger = {**GRANT, "username": "someone@example.com"}
    codes = {session.post("/oauth/token", json=stranger).status_code for _ in range(3)}
    assert codes == {400}
    path = f"/users/{sim.model.account.user_id}"
    assert set(statuses(session, path, 3)) == {400}
    assert session.post("/oauth/token", json=GRANT).status_code == 200


def test_stats_report_the_budget_in_use(
    sim: Simulator, api: requests.Session, uid: int
) -> None:
    """/_sim/stats shows the limit and the requests inside the current hour."""
    statuses(api, f"/users/{uid}", 4)
    limit = api.get("/_sim/stats").json()["rate_limit"]
    assert limit == {"limit": 120, "used": 5}

"""Another client on the same account, over real HTTP and a simulated day."""

from __future__ import annotations

from typing import Any

import requests

from bridge.simulator.behaviour import Behaviour
from bridge.simulator.server import Simulator
from tests.support.simulator import START

HOUR = 3600


def remaining(response: requests.Response) -> int:
    return int(response.headers["X-RateLimit-Remaining"])


def test_a_day_beside_another_client_at_60_an_hour(
    sim_factory: Any, session_for: Any, login_as: Any
) -> None:
    """Polling 40 times an hour beside 60 of another client: no 429, exact Remaining."""
    sim: Simulator = sim_factory(behaviour=Behaviour(other_client_per_hour=60))
    session = session_for(sim)
    login_as(session)
    path = f"/users/{sim.model.account.user_id}/devices"
    ours = [0.0]  # seconds after START of each of our requests; the login first
    seen = []
    for _ in range(24 * 40):
        sim.clock.advance(90)
        ours.append(sim.clock.now().timestamp() - START.timestamp())
        response = session.get(path)
        assert response.status_code == 200
        seen.append(remaining(response))
    # Computed apart: the other client's requests fall every 60 s from START on.
    expected = []
    for at in ours[1:]:
        mine = sum(1 for t in ours if at - HOUR < t <= at)
        others = sum(1 for k in range(1, int(at) // 60 + 1) if at - HOUR < 60 * k)
        expected.append(120 - mine - others)
    assert seen == expected
    assert min(seen) == 120 - 40 - 60
    stats = session.get("/_sim/stats?log=true").json()
    assert stats["total"] == 1 + 24 * 40  # only our requests are counted ...
    assert len(stats["log"]) == 1 + 24 * 40  # ... and logged
    assert stats["other_client"] == {
        "per_hour": 60,
        "admitted": 24 * 60,
        "refused": 0,
        "in_window": 60,
    }
    assert stats["rate_limit"] == {"limit": 120, "used": 100}


def test_a_greedy_client_meets_429_where_the_other_client_left_off(
    sim_factory: Any, session_for: Any, login_as: Any
) -> None:
    """Changed at run time to 100 an hour, the other client leaves us 20 of the 120."""
    sim: Simulator = sim_factory()
    session = session_for(sim)
    login_as(session)
    changed = session.post("/_sim/behaviour", json={"other_client_per_hour": 100})
    assert changed.json()["other_client_per_hour"] == 100
    sim.clock.advance(HOUR)  # the login leaves the hour as the other client fills it
    path = f"/users/{sim.model.account.user_id}"
    codes = [session.get(path).status_code for _ in range(21)]
    assert codes == [200] * 20 + [429]
    stats = session.get("/_sim/stats").json()
    assert stats["other_client"]["in_window"] == 100
    assert stats["by_status"] == {"200": 21, "429": 1}
    reset = session.delete("/_sim/stats").json()
    assert reset["other_client"]["admitted"] == 0
    assert reset["other_client"]["per_hour"] == 100

"""GET /_sim/stats?log=true: every answered Flume request with its simulated time."""

from __future__ import annotations

import pytest
import requests

from bridge.simulator.server import Simulator
from tests.support.simulator import SimSession


def test_the_log_lists_each_request_at_its_simulated_time(
    sim: Simulator, api: SimSession, uid: int, sensor_id: str
) -> None:
    """Each Flume request is logged with its arrival time, route and status."""
    api.delete("/_sim/stats")
    api.get(f"/users/{uid}/devices/{sensor_id}")
    api.post("/_sim/clock", json={"advance": 90})
    api.post("/_sim/faults", json={"drop": True})
    with pytest.raises(requests.ConnectionError):
        api.get(f"/users/{uid}/devices")
    api.get("/nowhere")
    api.get("/_sim/clock")  # control routes are not Flume requests
    stats = api.get("/_sim/stats", params={"log": "true"}).json()
    assert stats["log"] == [
        {
            "at": "2026-03-10T18:30:15Z",
            "route": "GET /users/{uid}/devices/{did}",
            "status": "200",
        },
        {
            "at": "2026-03-10T18:31:45Z",
            "route": "GET /users/{uid}/devices",
            "status": "dropped",
        },
        {"at": "2026-03-10T18:31:45Z", "route": "GET (no route)", "status": "404"},
    ]
    assert stats["log_dropped"] == 0
    assert len(stats["log"]) == stats["total"]


def test_the_log_is_only_sent_when_asked_and_reset_with_the_counts(
    api: SimSession,
) -> None:
    """Without log=true there is no log; DELETE /_sim/stats empties it."""
    assert "log" not in api.get("/_sim/stats").json()
    assert "log" not in api.get("/_sim/stats", params={"log": "false"}).json()
    assert api.get("/_sim/stats", params={"log": "true"}).json()["log"]
    reset = api.delete("/_sim/stats", params={"log": "true"}).json()
    assert (reset["log"], reset["log_dropped"]) == ([], 0)


@pytest.mark.parametrize("value", ["yes", "1", ""])
def test_a_log_flag_other_than_true_or_false_is_refused(
    anon: SimSession, value: str
) -> None:
    """log= takes Flume's spelling of booleans, and nothing else."""
    response = anon.get("/_sim/stats", params={"log": value})
    assert response.status_code == 400
    assert "log must be" in response.json()["error"]

"""Other readings and limits over real HTTP, switched at run time (/_sim/behaviour)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

from bridge.simulator.behaviour import Behaviour
from bridge.simulator.server import Simulator
from tests.support.simulator import START, truth

LA = ZoneInfo("America/Los_Angeles")
FORMAT = "%Y-%m-%d %H:%M:%S"
NOW = START.astimezone(LA).replace(second=0)  # 2026-03-10 11:30 in Los Angeles


def local(when: datetime) -> str:
    return when.strftime(FORMAT)


def pyflume_style() -> list[dict[str, Any]]:
    """The seven queries pyflume sends (flume-api.md §4.2), at START."""
    midnight = NOW.replace(hour=0, minute=0)
    windows = {
        "current_interval": ("MIN", NOW - timedelta(minutes=1), "SUM"),
        "today": ("DAY", midnight, "SUM"),
        "week_to_date": ("DAY", midnight - timedelta(days=NOW.weekday()), "SUM"),
        "month_to_date": ("MON", midnight.replace(day=1), None),
        "last_60_min": ("MIN", NOW - timedelta(minutes=60), "SUM"),
        "last_24_hrs": ("HR", NOW - timedelta(hours=24), "SUM"),
        "last_30_days": ("DAY", NOW - timedelta(days=30), "SUM"),
    }
    queries = []
    for request_id, (bucket, since, operation) in windows.items():
        query = {
            "request_id": request_id,
            "bucket": bucket,
            "since_datetime": local(since),
            "until_datetime": local(NOW),
            "units": "GALLONS",
            "group_multiplier": 1,
            "sort_direction": "ASC",
        }
        queries.append(
            query if operation is None else {**query, "operation": operation}
        )
    return queries


def ask(api: requests.Session, sim: Simulator, queries: list[dict[str, Any]]) -> Any:
    uid, sensor = sim.model.account.user_id, sim.model.account.sensors[0].id
    return api.post(f"/users/{uid}/devices/{sensor}/query", json={"queries": queries})


def test_pyflume_style_queries_read_the_same_in_every_reading(
    sim: Simulator, api: requests.Session
) -> None:
    """The seven pyflume queries answer alike ungrouped and newest first."""
    documented = ask(api, sim, pyflume_style()).json()["data"][0]
    assert documented["today"][0]["value"] > 0
    api.post("/_sim/behaviour", json={"reading": "ungrouped", "sort": "desc"})
    assert ask(api, sim, pyflume_style()).json()["data"][0] == documented


def test_a_server_ignoring_group_multiplier_answers_per_minute_newest_first(
    sim: Simulator, api: requests.Session
) -> None:
    """An hour in 60-minute groups comes back as 60 minutes, DESC, summing to truth."""
    api.post("/_sim/behaviour", json={"reading": "ungrouped", "sort": "desc"})
    since = NOW - timedelta(hours=3)
    query = {
        "request_id": "hour",
        "bucket": "MIN",
        "group_multiplier": 60,
        "since_datetime": local(since),
        "until_datetime": local(since + timedelta(minutes=59)),
        "sort_direction": "ASC",
    }
    answer = ask(api, sim, [query]).json()["data"][0]["hour"]
    labels = [item["datetime"] for item in answer]
    assert labels == [local(since + timedelta(minutes=59 - k)) for k in range(60)]
    gallons = truth(
        sim, sim.model.account.sensors[0].id, since, since + timedelta(hours=1)
    )
    assert sum(item["value"] for item in answer) == gallons
    api.post("/_sim/behaviour", json={"reading": "documented", "sort": "asked"})
    assert ask(api, sim, [query]).json()["data"][0]["hour"] == [
        {"datetime": local(since), "value": gallons}
    ]


def test_limits_refuse_with_flumes_validation_error(
    sim_factory: Any, session_for: Any, login_as: Any
) -> None:
    """Past max_queries or max_min_hours: a 400 code 94 naming the limit."""
    sim = sim_factory(behaviour=Behaviour(max_queries=10, max_min_hours=24))
    api = session_for(sim)
    login_as(api)
    many = [{**pyflume_style()[1], "request_id": f"q{i}"} for i in range(11)]
    refused = ask(api, sim, many)
    assert refused.status_code == 400
    body = refused.json()
    assert (body["code"], body["detailed"]) == (
        94,
        ["queries holds 11 queries; at most 10 are allowed"],
    )
    long_minutes = {
        **pyflume_style()[4],
        "since_datetime": local(NOW - timedelta(hours=25)),
    }
    assert ask(api, sim, [long_minutes]).json()["detailed"] == [
        "last_60_min: a MIN window may span at most 24 hours"
    ]
    lifted = api.post(
        "/_sim/behaviour", json={"max_queries": None, "max_min_hours": None}
    )
    assert (lifted.json()["max_queries"], lifted.json()["max_min_hours"]) == (
        None,
        None,
    )
    assert (
        ask(api, sim, [*many, {**long_minutes, "request_id": "x"}]).status_code == 200
    )


def test_the_behaviour_route_shows_and_checks_the_settings(
    anon: requests.Session,
) -> None:
    """GET shows every setting; a bad POST is a 400 that changes nothing."""
    defaults = {
        "rate_headers": True,
        "other_client_per_hour": 0,
        "reading": "documented",
        "sort": "asked",
        "max_queries": None,
        "max_min_hours": None,
    }
    assert anon.get("/_sim/behaviour").json() == defaults
    for body in ({"sort": "newest"}, {"reading": 1}, {"limit": 3}, [1]):
        assert anon.post("/_sim/behaviour", json=body).status_code == 400
    assert anon.get("/_sim/behaviour").json() == defaults

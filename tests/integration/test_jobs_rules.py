"""The usage job runs the local rules over every minute it counts, with no request."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import requests

from bridge.alerts.rulebook import RULES_FILE, SAVE_DRY
from bridge.service import Jobs
from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator
from tests.support.flume import route_count
from tests.support.service import JobsFactory, Published
from tests.support.simulator import TIMEOUT, SimFactory

START = datetime(2026, 3, 10, 0, 20, 15, tzinfo=UTC)  # a quiet hour in a UTC household
QUERY = "POST /users/{uid}/devices/{did}/query"


def leak(sim: Simulator, sensor: str, gpm: float) -> None:
    body = {"device_id": sensor, "gallons_per_minute": gpm}
    requests.post(f"{sim.url}/_sim/leak", json=body, timeout=TIMEOUT).raise_for_status()


def stopped(sim_factory: SimFactory) -> tuple[Simulator, str]:
    """A simulator whose clock stands at START, in UTC, no latency; its sensor."""
    sim = sim_factory(
        clock=SimClock(START, speed=0.0), timezones=("UTC",), latency_minutes=0
    )
    return sim, sim.model.account.sensors[0].id


def leaking(
    sim: Simulator, sensor: str, make_jobs: JobsFactory, minutes: int
) -> tuple[Jobs, Published]:
    """Jobs with continuous flow at `minutes`, polled once; then a leak starts."""
    jobs, published = make_jobs(sim, rule_continuous_minutes=minutes)
    jobs.devices()
    jobs.usage(sensor)
    leak(sim, sensor, 0.5)
    return jobs, published


def test_minutes_counted_by_a_poll_asked_again_reach_the_rules(
    sim_factory: SimFactory,
    make_jobs: JobsFactory,
) -> None:
    """A poll asked again after Flume's clock moved judges both answers' minutes."""
    sim, sensor = stopped(sim_factory)
    jobs, published = leaking(sim, sensor, make_jobs, 25)  # from 00:21
    sim.clock.advance(10 * 60)
    jobs.usage(sensor)
    sim.clock.advance(10 * 60)
    jobs.leaks(sensor)  # learns Flume's clock at 00:40
    sim.clock.advance(20 * 60)
    queries = route_count(sim, QUERY)
    jobs.usage(sensor)  # asks for 00:40 first, then again for 01:00
    assert route_count(sim, QUERY) == queries + 2
    state = published.state(sensor)
    assert state["total_through"] == "2026-03-10T00:57:00Z"
    assert state["continuous_flow"] is True  # 36 wet minutes in a row
    told = [json.loads(p) for p in published.on(f"flume/{sensor}/event")]
    assert [(e["type"], e["on"], e["at"]) for e in told] == [
        ("continuous_flow", True, "2026-03-10T00:46:00Z")
    ]
    assert route_count(sim, QUERY) == queries + 2  # the rules asked for nothing


def test_the_rules_values_are_in_the_state_before_the_first_answer(
    sim_factory: SimFactory,
    make_jobs: JobsFactory,
) -> None:
    """After a restart the state carries the rules' values from rules.json at once."""
    sim, sensor = stopped(sim_factory)
    jobs, _ = leaking(sim, sensor, make_jobs, 5)
    sim.clock.advance(12 * 60)
    jobs.usage(sensor)
    again, published = make_jobs(sim, rule_continuous_minutes=5)
    again.devices()
    again.board.release(sensor, None)  # let a state out without an answer
    again.publish_state(sensor)
    state = published.state(sensor)
    assert state["continuous_flow"] is True
    assert (state["sustained_flow"], state["away_flow"]) == (False, False)
    assert state["last_session"] is None


def test_a_usage_poll_with_no_new_minute_does_not_rewrite_rules_json(
    sim_factory: SimFactory,
    make_jobs: JobsFactory,
    tmp_path: Path,
) -> None:
    """A poll with no new minute keeps rules.json; one SAVE_DRY later replaces it."""
    sim = sim_factory(
        clock=SimClock(START, speed=0.0), timezones=("UTC",), latency_minutes=0
    )
    sensor = sim.model.account.sensors[0].id
    jobs, _ = make_jobs(sim)
    jobs.devices()
    jobs.usage(sensor)
    path = tmp_path / "state" / RULES_FILE
    before, queries = path.stat(), route_count(sim, QUERY)
    jobs.usage(sensor)
    assert route_count(sim, QUERY) == queries + 1  # a real poll, with nothing new
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    sim.clock.advance(SAVE_DRY.total_seconds() + 60)
    jobs.usage(sensor)  # Flume's clock moved: the minutes since are judged
    assert path.stat().st_ino != before.st_ino

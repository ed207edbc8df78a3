"""`flume-mqtt run`: `yesterday` and `last_month` are the truth across DST, month end.

Two sensors, Los Angeles and Berlin, around Los Angeles' fall-back on 1 November 2026
(the first of a month): first just after it, when yesterday is 31 October (a month's
last day) and last month is October (Berlin's holds its own fall-back, a 745-hour
month); then 23 hours on, when Los Angeles' yesterday is the 25-hour 1 November.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bridge.models import UNIT_SYSTEMS
from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator
from tests.support.bridge import (
    BridgeProcess,
    bridge_env,
    expected_state,
    refresh_until,
)
from tests.support.broker import Broker
from tests.support.mqtt import Subscriber
from tests.support.simulator import SimFactory

ZONES = ("America/Los_Angeles", "Europe/Berlin")
# 01:50 PST (the second 01:50 of 1 November in Los Angeles), 10:50 CET in Berlin.
START = datetime(2026, 11, 1, 9, 50, 15, tzinfo=UTC)
# To 00:50 PST on 2 November: within a day, so no back-fill takes the batch's room.
STEP = timedelta(hours=23)
CLOSED = ("yesterday", "last_month")


def closed_state(sub: Subscriber, sensor: str, day: str) -> dict[str, Any] | None:
    """The sensor's newest state of UTC `day` with its closed periods known."""
    found = [s.json() for s in sub.on(f"flume/{sensor}/state") if s.payload]
    return next(
        (
            s
            for s in reversed(found)
            if s["yesterday"] is not None and s["updated_at"].startswith(day)
        ),
        None,
    )


def check(sim: Simulator, state: dict[str, Any], tz: str, units: str) -> None:
    """`yesterday` and `last_month` are the truth of those local periods, in UNITS."""
    wanted = expected_state(sim, state, tz, units)
    decimals = UNIT_SYSTEMS[units].volume_decimals
    for name in CLOSED:
        assert state[name] is not None, (tz, name, state)
        assert math.isclose(
            state[name], wanted[name], abs_tol=0.5 * 10**-decimals + 1e-9
        ), (tz, name, state[name], wanted[name])
    assert state["yesterday"] > 0
    assert state["last_month"] > state["yesterday"]


@pytest.mark.parametrize("units", sorted(UNIT_SYSTEMS))
def test_yesterday_and_last_month_equal_the_truth(
    units: str,
    sim_factory: SimFactory,
    broker: Broker,
    watch: Subscriber,
    tmp_path: Path,
) -> None:
    """Across a fall-back and a month's end, both closed periods equal /_sim/truth."""
    sim = sim_factory(
        clock=SimClock(START, speed=0.0),
        sensors=2,
        timezones=ZONES,
        latency_minutes=0,
    )
    account = sim.model.account
    zones = {d.id: account.location_of(d).tz for d in account.sensors}
    env = bridge_env(sim, broker, tmp_path / "state", UNITS=units)
    bridge = BridgeProcess(env, tmp_path / "bridge.log")
    checked = []
    try:
        for day in ("2026-11-01", "2026-11-02"):
            if day != "2026-11-01":
                sim.clock.advance(STEP.total_seconds())
            refresh_until(
                watch,
                lambda: all(closed_state(watch, s, day) for s in zones),  # noqa: B023 (used at once)
                f"both sensors' closed periods on {day}",
            )
            checked += [closed_state(watch, s, day) for s in zones]
    finally:
        assert bridge.stop() == 0, bridge.text()
    for state in checked:
        assert state is not None
        check(sim, state, zones[state["device_id"]], units)
    la = [s for s in checked if s and zones[s["device_id"]] == ZONES[0]]
    # The 25-hour day really is yesterday at the second check, not the first.
    assert la[0]["yesterday"] != la[1]["yesterday"]
    assert la[0]["last_month"] == la[1]["last_month"]

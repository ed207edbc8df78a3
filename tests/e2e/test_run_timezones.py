"""`flume-mqtt run` with sensors in two time zones, across a DST change of one."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator
from tests.conftest import BrokerFactory
from tests.support.bridge import (
    BridgeProcess,
    bridge_env,
    expected_state,
    refresh_until,
)
from tests.support.clock import parse_utc
from tests.support.flume import sim_stats
from tests.support.mqtt import Subscriber, subscriber
from tests.support.simulator import SimFactory, truth

ZONES = ("America/Los_Angeles", "Europe/Berlin")
# 01:40 PST, twenty minutes before Los Angeles springs forward (10:00 UTC); Berlin
# is on CET throughout. Mid-minute, so the bridge's clock drift stays in the minute.
START = datetime(2026, 3, 8, 9, 40, 15, tzinfo=UTC)
STEPS = (
    30,  # 03:10 PDT: a 23-hour Sunday in Los Angeles
    14 * 60,  # 01:10 on Monday in Berlin: a new day and week there
    8 * 60,  # 01:10 PDT on Monday: a new day and week in Los Angeles
)  # minutes the simulated clock moves before each refresh
BUDGET = 40  # FLUME_REQUESTS_PER_HOUR
LAG = timedelta(minutes=3)
MINUTE = timedelta(minutes=1)
VOLUMES = ("last_60_min", "last_24_hours", "today", "this_week", "this_month")


def settled(sim: Simulator) -> str:
    """The `total_through` of a poll at the simulator's now."""
    end = sim.clock.now().replace(second=0, microsecond=0)
    return (end - LAG).strftime("%Y-%m-%dT%H:%M:%SZ")


def caught_up(sub: Subscriber, sim: Simulator, sensor: str) -> dict[str, Any] | None:
    """The sensor's newest state counted through the simulator's settled minute."""
    through = settled(sim)
    found = [s.json() for s in sub.on(f"flume/{sensor}/state") if s.payload]
    return next((s for s in reversed(found) if s["total_through"] == through), None)


def first(sub: Subscriber, sensor: str) -> dict[str, Any] | None:
    """The sensor's first state with usage: its windows, before any minute counted."""
    found = [s.json() for s in sub.on(f"flume/{sensor}/state") if s.payload]
    return next((s for s in found if s["today"] is not None), None)


def used(sub: Subscriber) -> int | None:
    """The requests of the last hour, as the newest diagnostics tell them."""
    found = sub.on("flume/diagnostics")
    return int(found[-1].json()["requests_last_hour"]) if found else None


def check(sim: Simulator, state: dict[str, Any], tz: str) -> None:
    """Every window, the flow and the counter equal the truth in the sensor's zone."""
    assert all(state[name] is not None for name in VOLUMES), state
    wanted = expected_state(sim, state, tz, "gallons")
    if state["total_through"] == state["total_since"]:  # nothing counted yet
        assert state["total"] == 0, state
        newest = parse_utc(state["updated_at"]) - LAG  # the flow's minute ends here
        wanted["flow_rate"] = truth(sim, state["device_id"], newest - MINUTE, newest)
        del wanted["total"]
    for name, value in wanted.items():
        assert math.isclose(state[name], value, abs_tol=0.0051), (tz, name, state)


def test_each_sensor_keeps_its_own_zone_across_dst(
    sim_factory: SimFactory, broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    """Both sensors equal their own zone's truth at each step; no 429, within budget."""
    sim = sim_factory(
        clock=SimClock(START, speed=0.0),
        sensors=2,
        timezones=ZONES,
        latency_minutes=0,
    )
    account = sim.model.account
    zones = {d.id: account.location_of(d).tz for d in account.sensors}
    assert sorted(zones.values()) == sorted(ZONES)
    broker = broker_factory()
    env = bridge_env(
        sim, broker, tmp_path / "state", FLUME_REQUESTS_PER_HOUR=str(BUDGET)
    )
    began = time.monotonic()
    with subscriber(broker, ("flume/#",)) as sub:
        bridge = BridgeProcess(env, tmp_path / "bridge.log")
        try:
            sub.wait_for(lambda _: all(first(sub, s) for s in zones), timeout=30)
            checked = [first(sub, s) for s in zones]
            for minutes in STEPS:
                sim.clock.advance(minutes * 60)
                refresh_until(
                    sub,
                    lambda: all(caught_up(sub, sim, s) for s in zones),
                    f"both sensors through {settled(sim)}",
                )
                checked += [caught_up(sub, sim, s) for s in zones]
            stats = sim_stats(sim)
            # The bridge's own count (in diagnostics) is the simulator's.
            sub.wait_for(lambda _: used(sub) == stats["total"], timeout=30)
        finally:
            assert bridge.stop() == 0, bridge.text()
    elapsed = time.monotonic() - began
    for state in checked:
        assert state is not None
        check(sim, state, zones[state["device_id"]])
        assert parse_utc(state["total_since"]) == START.replace(second=0)
    assert sim_stats(sim) == stats  # nothing sent after the last state
    assert "429" not in stats["by_status"], stats
    # The test is shorter than an hour, so its every request lies in one rolling hour.
    assert elapsed < 3600
    assert stats["total"] <= BUDGET, stats
    assert "Traceback" not in bridge.text()

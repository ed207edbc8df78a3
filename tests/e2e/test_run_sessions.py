"""`flume-mqtt run` over a simulated day: its sessions are the household's water."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bridge.simulator.clock import SimClock
from tests.conftest import BrokerFactory
from tests.e2e.test_run_rules import events, poll, uses
from tests.e2e.test_run_timezones import first
from tests.support.bridge import BridgeProcess, bridge_env
from tests.support.clock import parse_utc
from tests.support.mqtt import Subscriber, subscriber
from tests.support.simulator import SimFactory, truth

DAY = datetime(2026, 3, 11, tzinfo=UTC)  # a Wednesday, in a UTC household
NEXT = DAY + timedelta(days=1)
GAP = 2  # SESSION_GAP_MINUTES: dry minutes that end a session
MINUTE = timedelta(minutes=1)


def merged(recorded: list[dict[str, Any]]) -> list[tuple[datetime, datetime]]:
    """The simulator's uses as sessions: pauses under GAP minutes joined."""
    found: list[list[datetime]] = []
    for use in sorted(recorded, key=lambda u: u["start"]):
        start, end = parse_utc(use["start"]), parse_utc(use["end"])
        if found and start - found[-1][1] < GAP * MINUTE:
            found[-1][1] = max(found[-1][1], end)
        else:
            found.append([start, end])
    return [(start, end) for start, end in found]


def told(sub: Subscriber, sensor: str) -> list[dict[str, Any]]:
    """The sessions told so far."""
    return [e["session"] for e in events(sub, sensor) if e["type"] == "session"]


def test_a_days_sessions_are_its_water_uses_and_add_up_to_its_truth(
    sim_factory: SimFactory, broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    """The day's sessions are the simulator's uses and sum to the day's truth."""
    sim = sim_factory(
        clock=SimClock(DAY + timedelta(seconds=15), speed=0.0),
        timezones=("UTC",),
        latency_minutes=0,
    )
    sensor = sim.model.account.sensors[0].id
    broker = broker_factory()
    env = bridge_env(sim, broker, tmp_path / "state")
    with subscriber(broker, ("flume/#",)) as sub:
        bridge = BridgeProcess(env, tmp_path / "bridge.log")
        try:
            sub.wait_for(lambda _: first(sub, sensor) is not None, timeout=30)
            for moment in (DAY + timedelta(hours=12), NEXT + timedelta(minutes=20)):
                sim.clock.set(moment + timedelta(seconds=15))
                final = poll(sub, sim, sensor)
            # The events follow the state that holds the newest session.
            sub.wait_for(
                lambda _: told(sub, sensor)[-1:] == [final["last_session"]], 30
            )
        finally:
            assert bridge.stop() == 0, bridge.text()
    today = [s for s in told(sub, sensor) if DAY <= parse_utc(s["start"]) < NEXT]
    recorded = uses(sim, sensor, DAY, NEXT)
    assert all(
        DAY <= parse_utc(u["start"]) < parse_utc(u["end"]) <= NEXT for u in recorded
    )
    bounds = [(parse_utc(s["start"]), parse_utc(s["end"])) for s in today]
    assert bounds == merged(recorded)
    water = truth(sim, sensor, DAY, NEXT)
    assert math.isclose(
        sum(s["volume"] for s in today), water, abs_tol=0.001 * len(today)
    )
    assert final["last_session"] == today[-1]
    assert "Traceback" not in bridge.text()

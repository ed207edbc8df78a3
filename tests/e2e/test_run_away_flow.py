"""`flume-mqtt run` judges water while away: on, off, across a restart, and not at home.

As in test_run_rules.py, the simulator's clock is frozen and moved by the test and the
water is scripted through its `/_sim/leak` route; away mode goes on and off through
the bridge's own `flume/<location_id>/away_mode/set` command.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator
from tests.conftest import BrokerFactory
from tests.e2e.test_run_away_mode import flume_away
from tests.e2e.test_run_rules import (
    LAG,
    MINUTE,
    ONSET,
    SHOWER,
    START,
    TOILET,
    at,
    events,
    leak,
    poll,
)
from tests.e2e.test_run_timezones import first
from tests.support.bridge import BridgeProcess, bridge_env
from tests.support.clock import parse_utc
from tests.support.mqtt import Subscriber, subscriber
from tests.support.simulator import SimFactory

VOLUME = 5.0  # gallons: RULE_AWAY_VOLUME
FILLS = 11  # minutes of TOILET until more than VOLUME has run
STOP = 14  # the first run's water stops at the end of minute ONSET + STOP
AGAIN = 20  # ... and starts again at ONSET + AGAIN + 1, away mode still on
HOME = 36  # away mode goes off here, the water still running
DRY = 60  # the water stops, after more than VOLUME at home; then a shower
LEAVE = DRY + 7  # away mode on as the shower's last minute ends, within the lag


def away_mode(sub: Subscriber, sim: Simulator, location: int, on: bool) -> None:
    """Set away mode through the bridge; wait until the switch shows it read back.

    The bridge stamps the change when it reads it back: the test moves the clock
    only after that, and a switch value in the history from before is no answer.
    """
    word, topic = (b"ON" if on else b"OFF"), f"flume/{location}/away_mode"
    before = len(sub.on(topic))
    sub.send(f"{topic}/set", word)

    def shown() -> bool:
        told = sub.on(topic)
        return len(told) > before and told[-1].payload == word

    sub.wait_for(lambda _: shown(), timeout=30)
    assert flume_away(sim, location) is on


def changes(sub: Subscriber, sensor: str) -> list[tuple[bool, datetime]]:
    """The away_flow events told so far: (on, at)."""
    found = [e for e in events(sub, sensor) if e["type"] == "away_flow"]
    return [(e["on"], parse_utc(e["at"])) for e in found]


def first_run(sub: Subscriber, sim: Simulator, sensor: str) -> list[dict[str, Any]]:
    """Away: a toilet fills VOLUME, stops, runs again; the events told."""
    leak(sim, sensor, TOILET)  # from ONSET
    sim.clock.set(at(FILLS + LAG))
    assert poll(sub, sim, sensor)["away_flow"] is True
    sim.clock.set(at(STOP))
    leak(sim, sensor, None)  # the minute after STOP is dry: off at its end
    sim.clock.set(at(STOP + 2 + LAG))
    assert poll(sub, sim, sensor)["away_flow"] is False
    sim.clock.set(at(AGAIN))
    leak(sim, sensor, TOILET)
    sim.clock.set(at(AGAIN + 1 + FILLS + LAG))
    assert poll(sub, sim, sensor)["away_flow"] is True
    sub.wait_for(lambda _: len(changes(sub, sensor)) >= 3, timeout=30)
    return events(sub, sensor)


def second_run(
    sub: Subscriber, sim: Simulator, sensor: str, location: int
) -> dict[str, Any]:
    """The restarted bridge resumes; away mode off, water at home; the last state."""
    topic = f"flume/{sensor}/state"
    before = len(sub.on(topic))
    sub.wait_for(lambda _: len(sub.on(topic)) > before, timeout=30)
    assert sub.on(topic)[-1].json()["away_flow"] is True  # the value is back at once
    sim.clock.set(at(HOME))
    away_mode(sub, sim, location, on=False)
    sim.clock.set(at(HOME + 1 + LAG))
    assert poll(sub, sim, sensor)["away_flow"] is False
    sim.clock.set(at(DRY))
    leak(sim, sensor, None)
    sim.clock.set(at(DRY + 2))
    leak(sim, sensor, SHOWER)  # DRY + 3 to LEAVE: 10 gal, more than VOLUME
    sim.clock.set(at(LEAVE - 1))
    leak(sim, sensor, None)
    sim.clock.set(at(LEAVE))
    away_mode(sub, sim, location, on=True)  # its minutes are not settled yet
    sim.clock.set(at(LEAVE + 2 + LAG))
    return poll(sub, sim, sensor)


def test_away_flow_turns_on_and_off_once_each_across_a_restart(
    sim_factory: SimFactory, broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    """away_flow: on past the volume, off when dry or home, once each, never at home."""
    sim = sim_factory(
        clock=SimClock(START, speed=0.0), timezones=("UTC",), latency_minutes=0
    )
    device = sim.model.account.sensors[0]
    sensor, location = device.id, device.location_id
    rules = {"RULE_AWAY_VOLUME": str(VOLUME)}
    env = bridge_env(sim, broker := broker_factory(), tmp_path / "state", **rules)
    with subscriber(broker, ("flume/#",)) as sub:
        bridge = BridgeProcess(env, tmp_path / "bridge.log")
        try:
            sub.wait_for(lambda _: first(sub, sensor) is not None, timeout=30)
            away_mode(sub, sim, location, on=True)
            told = first_run(sub, sim, sensor)
        finally:
            assert bridge.stop() == 0, bridge.text()
        bridge = BridgeProcess(env, tmp_path / "bridge.log")
        try:
            final = second_run(sub, sim, sensor, location)
        finally:
            assert bridge.stop() == 0, bridge.text()
    found = events(sub, sensor)
    assert found[: len(told)] == told  # nothing told again after the restart
    assert final["away_flow"] is False
    assert {e["type"] for e in found} <= {"away_flow", "session"}
    check_changes(changes(sub, sensor))
    assert "Traceback" not in bridge.text()


def check_changes(seen: list[tuple[bool, datetime]]) -> None:
    """On past VOLUME, off when dry, on again, off when home; nothing at home."""
    print(f"\naway_flow events (minutes after ONSET): {_minutes(seen)}")  # noqa: T201
    assert seen[:3] == [
        (True, ONSET + FILLS * MINUTE),  # the minute that ran past VOLUME
        (False, ONSET + (STOP + 2) * MINUTE),  # the first dry minute's end
        (True, ONSET + (AGAIN + 1 + FILLS) * MINUTE),
    ]
    # Away mode off 15 s into minute HOME: that minute is the first at home. Neither
    # the water at home nor the shower before away mode went on tells anything.
    assert seen[3:] == [(False, ONSET + (HOME + 1) * MINUTE)]


def _minutes(seen: list[tuple[bool, datetime]]) -> list[tuple[bool, float]]:
    return [(on, (when - ONSET) / MINUTE) for on, when in seen]

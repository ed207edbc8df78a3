"""`flume-mqtt run` judges a scripted household: a running toilet, a hose, a shower.

The simulator's clock is frozen and moved by the test, so an hour of water takes
seconds; leaks are started and stopped through its `/_sim/leak` route, and its own
record of the water (`/_sim/uses`) and truth (`/_sim/truth`) are what the rules and
sessions are held to.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator
from tests.conftest import BrokerFactory
from tests.e2e.test_run_timezones import caught_up, first, settled
from tests.support.bridge import BridgeProcess, bridge_env, refresh_until
from tests.support.clock import parse_utc
from tests.support.mqtt import Subscriber, subscriber
from tests.support.simulator import TIMEOUT, SimFactory, SimSession, login, truth

# 00:20 in a UTC household: nobody uses water before 04:00 (the simulator's
# fixtures), so every drop is the test's own. Mid-minute, as in the zone tests.
START = datetime(2026, 3, 10, 0, 20, 15, tzinfo=UTC)
ONSET = START.replace(second=0) + timedelta(
    minutes=1
)  # a leak starts at the next minute
MINUTE = timedelta(minutes=1)
LAG = 3  # minutes: the meter's settle lag
RULES = {
    "RULE_CONTINUOUS_MINUTES": "15",
    "RULE_SUSTAINED_FLOW": "5",
    "RULE_SUSTAINED_MINUTES": "10",
}
TOILET, HOSE, SHOWER = 0.5, 6.0, 2.5  # gallons a minute
END = 73  # minutes after ONSET: every session has ended and settled


def at(minutes: float) -> datetime:
    """The instant `minutes` after the toilet's onset, 15 s into the minute."""
    return ONSET + timedelta(minutes=minutes, seconds=15)


def leak(sim: Simulator, sensor: str, gpm: float | None) -> None:
    """Start water at `gpm` from the next minute, or stop it at the end of this one."""
    body: dict[str, Any] = {"device_id": sensor}
    body |= {"stop": True} if gpm is None else {"gallons_per_minute": gpm}
    requests.post(f"{sim.url}/_sim/leak", json=body, timeout=TIMEOUT).raise_for_status()


def flume_leak(session: SimSession, user: int, sensor: str) -> bool:
    """What Flume's own `leaks/active` says now."""
    found = session.get(f"/users/{user}/devices/{sensor}/leaks/active")
    found.raise_for_status()
    return bool(found.json()["data"][0]["active"])


def poll(sub: Subscriber, sim: Simulator, sensor: str) -> dict[str, Any]:
    """The sensor's state counted through the simulator's settled minute."""
    refresh_until(
        sub, lambda: caught_up(sub, sim, sensor) is not None, f"through {settled(sim)}"
    )
    state = caught_up(sub, sim, sensor)
    assert state is not None
    return state


def events(sub: Subscriber, sensor: str) -> list[dict[str, Any]]:
    return [seen.json() for seen in sub.on(f"flume/{sensor}/event")]


def uses(sim: Simulator, sensor: str, since: datetime, until: datetime) -> list[Any]:
    params = {
        "device_id": sensor,
        "since": since.isoformat(),
        "until": until.isoformat(),
    }
    found = requests.get(f"{sim.url}/_sim/uses", params=params, timeout=TIMEOUT)
    found.raise_for_status()
    return list(found.json()["uses"])


def first_run(
    sub: Subscriber, sim: Simulator, sensor: str, flume: SimSession
) -> list[dict[str, Any]]:
    """The toilet runs 31 minutes, then the hose from ONSET + 36; the events told."""
    leak(sim, sensor, TOILET)  # a running toilet from ONSET
    sim.clock.set(at(15 + LAG - 1))
    assert poll(sub, sim, sensor)["continuous_flow"] is False
    sim.clock.set(at(15 + LAG))
    assert poll(sub, sim, sensor)["continuous_flow"] is True
    user = sim.model.account.user_id
    assert flume_leak(flume, user, sensor) is False
    sim.clock.set(at(29))
    assert flume_leak(flume, user, sensor) is False
    sim.clock.set(at(30))
    assert flume_leak(flume, user, sensor) is True  # Flume's own, 30 minutes in
    leak(sim, sensor, None)  # stops at ONSET + 31: off at + 32 (the dry minute's end)
    sim.clock.set(at(32 + LAG))
    assert poll(sub, sim, sensor)["continuous_flow"] is False
    leak(sim, sensor, HOSE)  # a hose left open from ONSET + 36
    sim.clock.set(at(36 + 10 + LAG))
    hose = poll(sub, sim, sensor)
    assert (hose["sustained_flow"], hose["continuous_flow"]) == (True, False)
    # Events follow the state: on, off, the toilet's session, the hose's rule on.
    sub.wait_for(lambda _: len(events(sub, sensor)) >= 4, timeout=30)
    return events(sub, sensor)


def second_run(sub: Subscriber, sim: Simulator, sensor: str) -> dict[str, Any]:
    """The restarted bridge resumes; the hose stops, a shower runs; the last state."""
    topic = f"flume/{sensor}/state"
    before = len(sub.on(topic))
    sub.wait_for(lambda _: len(sub.on(topic)) > before, timeout=30)
    resumed = sub.on(topic)[-1].json()
    assert resumed["total_through"] == settled(sim)
    assert resumed["sustained_flow"] is True  # the value is back at once
    leak(sim, sensor, None)  # the hose stops at ONSET + 50
    sim.clock.set(at(53))
    leak(sim, sensor, SHOWER)  # a shower from ONSET + 54 ...
    sim.clock.set(at(61))
    leak(sim, sensor, None)  # ... to ONSET + 62
    sim.clock.set(at(END))
    return poll(sub, sim, sensor)


def check_sessions(
    sim: Simulator, sensor: str, found: list[dict[str, Any]], final: dict[str, Any]
) -> None:
    """The sessions are the simulator's own uses and add up to its truth."""
    sessions = [e["session"] for e in found if e["type"] == "session"]
    recorded = uses(sim, sensor, ONSET - MINUTE, at(END))
    assert [(s["start"], s["end"]) for s in sessions] == [
        (u["start"], u["end"]) for u in recorded
    ]
    assert [s["minutes"] for s in sessions] == [31, 14, 8]
    assert [s["peak_flow"] for s in sessions] == [TOILET, HOSE, SHOWER]
    assert final["last_session"] == sessions[-1]
    water = truth(sim, sensor, START.replace(hour=0, minute=0, second=0), at(END))
    assert math.isclose(sum(s["volume"] for s in sessions), water, abs_tol=0.01)


def test_rules_turn_on_and_off_once_each_across_a_restart(
    sim_factory: SimFactory, broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    """Each rule changes within the lag of its condition, once, across a restart."""
    sim = sim_factory(
        clock=SimClock(START, speed=0.0), timezones=("UTC",), latency_minutes=0
    )
    sensor = sim.model.account.sensors[0].id
    flume = SimSession(sim.url)  # another client of the account: Flume's own verdict
    login(flume)
    env = bridge_env(sim, broker := broker_factory(), tmp_path / "state", **RULES)
    with subscriber(broker, ("flume/#",)) as sub:
        bridge = BridgeProcess(env, tmp_path / "bridge.log")
        try:
            sub.wait_for(lambda _: first(sub, sensor) is not None, timeout=30)
            told = first_run(sub, sim, sensor, flume)
        finally:
            assert bridge.stop() == 0, bridge.text()
        bridge = BridgeProcess(env, tmp_path / "bridge.log")
        try:
            final = second_run(sub, sim, sensor)
        finally:
            assert bridge.stop() == 0, bridge.text()
    found = events(sub, sensor)
    assert found[: len(told)] == told  # nothing told again after the restart
    assert not any(final[r] for r in ("continuous_flow", "sustained_flow", "away_flow"))
    changes = [(e["type"], e["on"], parse_utc(e["at"])) for e in found if "on" in e]
    assert changes == [
        ("continuous_flow", True, ONSET + 15 * MINUTE),
        ("continuous_flow", False, ONSET + 32 * MINUTE),  # the first dry minute's end
        ("sustained_flow", True, ONSET + 46 * MINUTE),
        ("sustained_flow", False, ONSET + 51 * MINUTE),
    ]
    check_sessions(sim, sensor, found, final)
    assert "Traceback" not in bridge.text()

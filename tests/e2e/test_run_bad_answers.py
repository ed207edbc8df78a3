"""`flume-mqtt run` against bad usage answers and bad commands: it keeps serving."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import requests

from bridge.simulator.server import Simulator
from tests.support.bridge import (
    BridgeProcess,
    bridge_env,
    expected_state,
    refresh_until,
)
from tests.support.broker import Broker
from tests.support.flume import add_fault, sim_stats
from tests.support.mqtt import Subscriber, subscriber
from tests.support.simulator import SimFactory

QUERY = "/users/*/devices/*/query"
# One bad answer per sensor, in polling order: the sensors are polled one after the
# other on a refresh, so one refresh meets every kind.
FAULTS: tuple[dict[str, Any], ...] = (
    {"body": "malformed"},
    {"body": "truncated"},
    {"body": "empty"},
    {"body": "html"},
    {"body": "wrong_shape"},
)
# The error of the last fault. A window missing from the answer costs only its own
# field now (issue 13): tests/e2e/test_run_readings.py.
LAST = "malformed (data: Input should be a valid list)"
WAIT = 30.0


def states(sub: Subscriber, sensor: str) -> list[dict[str, Any]]:
    """Every state of the sensor seen so far, oldest first."""
    return [s.json() for s in sub.on(f"flume/{sensor}/state") if s.payload]


def settled_states(sub: Subscriber, sensors: list[str]) -> dict[str, dict[str, Any]]:
    """Wait until each sensor's state has usage and leaks (every start-up job ran)."""

    def done(sensor: str) -> bool:
        return any(
            s["today"] is not None and s["leak"] is not None
            for s in states(sub, sensor)
        )

    sub.wait_for(lambda _: all(done(s) for s in sensors), timeout=WAIT)
    return {sensor: states(sub, sensor)[-1] for sensor in sensors}


def retained(broker: Broker, topic: str) -> list[bytes]:
    """What the broker holds retained on `topic` right now, as a newcomer gets it."""
    with subscriber(broker, (topic, "fence")) as sub:
        # Retained messages follow the SUBACK; our own message, sent after it, comes
        # back after them.
        sub.send("fence", b"")
        sub.wait_topic("fence")
        return [s.payload for s in sub.on(topic) if s.retained]


def diagnostics(sub: Subscriber) -> dict[str, Any]:
    """The newest diagnostics document."""
    found = sub.on("flume/diagnostics")
    return found[-1].json() if found else {}


def close(state: dict[str, Any], sim: Simulator, tz: str) -> bool:
    """Whether every volume, the flow and the counter equal the truth."""
    wanted = expected_state(sim, state, tz, "gallons")
    return all(math.isclose(state[k], v, abs_tol=0.0051) for k, v in wanted.items())


def faults(sim: Simulator) -> list[Any]:
    """The simulator's fault rules not yet used up."""
    response = requests.get(f"{sim.url}/_sim/faults", timeout=10)
    found: list[Any] = response.json()["faults"]
    return found


def assert_logged_once(log: str) -> None:
    """One WARNING for the first failed poll of the round; DEBUG for the rest."""
    failures = re.compile(r" bridge\.service\.jobs: usage \d+: (?!trying again)")
    lines = [line for line in log.splitlines() if failures.search(line)]
    assert len(lines) == len(FAULTS), lines
    assert " WARNING " in lines[0], lines
    assert all(" DEBUG " in line for line in lines[1:]), lines
    assert log.count(" WARNING ") == 1, log


def test_bad_usage_answers_keep_the_last_good_values(
    sim_factory: SimFactory, broker: Broker, watch: Subscriber, tmp_path: Path
) -> None:
    """Each bad answer: one WARNING, last values kept, last_error set; then recovery."""
    sim = sim_factory(sensors=len(FAULTS), latency_minutes=0)
    sensors = [d.id for d in sim.model.account.sensors]
    tz = sim.model.account.locations[0].tz
    bridge = BridgeProcess(bridge_env(sim, broker, tmp_path / "s"), tmp_path / "log")
    try:
        good = settled_states(watch, sensors)
        seen = {s: len(states(watch, s)) for s in sensors}
        sim.clock.advance(300)  # a good answer now would change every value
        for fault in FAULTS:
            add_fault(sim, route=QUERY, method="POST", count=1, **fault)
        watch.send("flume/command/refresh", b"")
        # The last sensor polled met the last fault: its error ends the round.
        watch.wait_for(
            lambda _: (diagnostics(watch).get("last_error") or "").endswith(LAST),
            timeout=WAIT,
        )
        assert faults(sim) == []  # one bad answer each
        for sensor in sensors:
            assert len(states(watch, sensor)) == seen[sensor]  # nothing published
            topic = f"flume/{sensor}/state"
            assert [*map(json.loads, retained(broker, topic))] == [good[sensor]]
        assert bridge.process.poll() is None
        failed = bridge.text()
        refresh_until(
            watch,
            lambda: all(
                states(watch, s)[-1]["updated_at"] != good[s]["updated_at"]
                for s in sensors
            ),
            "fresh states after the faults",
        )
    finally:
        assert bridge.stop() == 0, bridge.text()
    assert_logged_once(failed)
    assert f"Flume answers again after {len(FAULTS)} failed jobs" in bridge.text()
    for sensor in sensors:
        assert close(states(watch, sensor)[-1], sim, tz), states(watch, sensor)[-1]
    assert "Traceback" not in bridge.text()


def test_bad_commands_change_nothing(
    sim_factory: SimFactory, broker: Broker, watch: Subscriber, tmp_path: Path
) -> None:
    """Binary, 10 kB and unknown-topic commands are ignored; a real one still works."""
    sim = sim_factory(latency_minutes=0)
    sensor = sim.model.account.sensors[0].id
    bridge = BridgeProcess(bridge_env(sim, broker, tmp_path / "s"), tmp_path / "log")
    try:
        good = settled_states(watch, [sensor])[sensor]
        sent = sim_stats(sim)["total"]
        seen = len(states(watch, sensor))
        sim.clock.advance(300)  # a refresh now would publish new values
        watch.send("flume/command/refresh", bytes(range(256)))  # not UTF-8
        watch.send("flume/command/refresh", b"go" * 5120)  # 10 kB
        watch.send("flume/command/explode", b"now")
        watch.send("flume/command/republish", b"")  # the fence: a real command
        watch.wait_for(lambda _: len(states(watch, sensor)) > seen, timeout=WAIT)
        assert sim_stats(sim)["total"] == sent  # no poll
        assert states(watch, sensor)[-1] == good  # the same state, re-sent
        assert bridge.process.poll() is None
        refresh_until(
            watch,
            lambda: states(watch, sensor)[-1]["updated_at"] != good["updated_at"],
            "a state after a real refresh",
        )
    finally:
        assert bridge.stop() == 0, bridge.text()
    log = bridge.text()
    assert "ignored malformed refresh payload (256 bytes)" in log
    assert "ignored malformed refresh payload (10240 bytes)" in log
    assert "ignored unknown command topic flume/command/explode" in log
    assert "Traceback" not in log

"""Across a stop and a start of `flume-mqtt run`, a subscriber never loses a reading."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.support.bridge import BridgeProcess, bridge_env, refresh_until, states
from tests.support.broker import Broker
from tests.support.mqtt import Subscriber, subscriber
from tests.support.simulator import SimFactory

WATCHED = ("total", "today")


def nulls_after_numbers(seen: list[dict[str, Any]]) -> list[str]:
    """Each field of WATCHED that was null in a state after one holding a number."""
    found, numbered = [], set()
    for index, state in enumerate(seen):
        for field in WATCHED:
            if state.get(field) is not None:
                numbered.add(field)
            elif field in numbered:
                found.append(f"state {index}: {field} null")
    return found


def numbered(state: dict[str, Any]) -> bool:
    """Whether a state carries every WATCHED reading."""
    return all(state.get(field) is not None for field in WATCHED)


def wait_numbered(sub: Subscriber, sensor: str, after: int) -> None:
    """Wait until a state past the first `after` states carries the readings."""
    sub.wait_for(
        lambda _: any(numbered(s) for s in states(sub, sensor)[after:]), timeout=60
    )


@pytest.mark.timeout(150)  # seconds at most; its waits allow for a loaded machine
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
def test_a_restart_never_blanks_a_reading(
    sim_factory: SimFactory,
    broker: Broker,
    tmp_path: Path,
    sig: signal.Signals,
) -> None:
    """The first state after a start carries total and today, as the last one did."""
    sim = sim_factory(leak=True)  # water every minute: total rises
    sensor = next(d for d in sim.model.account.devices if d.type == 2).id
    env = bridge_env(sim, broker, tmp_path / "state")
    log = tmp_path / "bridge.log"
    with subscriber(broker, (f"flume/{sensor}/state",)) as sub:
        bridge = BridgeProcess(env, log)
        try:
            wait_numbered(sub, sensor, 0)
            sim.clock.advance(600)
            before = len(states(sub, sensor))
            refresh_until(
                sub, lambda: len(states(sub, sensor)) > before, "a second state"
            )
        finally:
            bridge.stop(sig)
        sim.clock.advance(300)
        before = len(states(sub, sensor))
        bridge = BridgeProcess(env, log)
        try:
            wait_numbered(sub, sensor, before)
        finally:
            assert bridge.stop() == 0, log.read_text()
        seen = states(sub, sensor)
    first = seen[before]
    logging.getLogger(__name__).info(
        "%d states, %d before the restart; the first after it: total %s, today %s",
        len(seen), before, first["total"], first["today"],
    )  # fmt: skip
    assert len(seen) > before
    assert nulls_after_numbers(seen) == [], seen

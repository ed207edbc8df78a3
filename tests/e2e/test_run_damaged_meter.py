"""A damaged meter file never lowers the `total` that `flume-mqtt run` publishes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.meter import METER_FILE, PREVIOUS
from tests.support.bridge import BridgeProcess, bridge_env, refresh_until, states
from tests.support.broker import Broker
from tests.support.mqtt import Subscriber, subscriber
from tests.support.simulator import SimFactory

GARBAGE = b"\x00\xff not json at all \x13" * 40
OFFSET = "100"
UNITS = "liters"  # the recovered total converts back to gallons exactly


def totals(sub: Subscriber, sensor: str) -> list[float]:
    """Every published `total` of the sensor, oldest first (nulls left out)."""
    found: list[Any] = [state.get("total") for state in states(sub, sensor)]
    return [total for total in found if total is not None]


def counting(sub: Subscriber, sensor: str, *, above: float) -> float:
    """Refresh until a state's total exceeds `above`; return the newest total."""
    refresh_until(
        sub,
        lambda: any(total > above for total in totals(sub, sensor)),
        f"a total above {above}",
    )
    return totals(sub, sensor)[-1]


def serve(
    env: dict[str, str], log: Path, sub: Subscriber, wait: Callable[[], None]
) -> None:
    """Run the bridge until `wait()` returns, then stop it cleanly."""
    bridge = BridgeProcess(env, log)
    try:
        wait()
    finally:
        assert bridge.stop() == 0, log.read_text()


@pytest.mark.timeout(180)  # about 15 s; its waits allow for a loaded machine
@pytest.mark.parametrize(
    "damaged", [(METER_FILE,), (METER_FILE, PREVIOUS)], ids=["one", "both"]
)
def test_garbage_over_the_meter_file_never_lowers_total(
    sim_factory: SimFactory,
    broker: Broker,
    tmp_path: Path,
    damaged: tuple[str, ...],
) -> None:
    """After garbage over the meter file (or both generations), total only rises."""
    sim = sim_factory(leak=True)  # water every minute
    sensor = next(d for d in sim.model.account.devices if d.type == 2).id
    state_dir = tmp_path / "state"
    env = bridge_env(sim, broker, state_dir, METER_OFFSET=OFFSET, UNITS=UNITS)
    log = tmp_path / "bridge.log"

    def count_a_while() -> None:
        sub.wait_for(lambda _: bool(totals(sub, sensor)), timeout=60)
        for _ in range(2):  # two saves: two generations on disk
            sim.clock.advance(20 * 60)
            counting(sub, sensor, above=totals(sub, sensor)[-1])

    def count_on() -> None:
        sub.wait_for(lambda _: len(totals(sub, sensor)) > len(before), timeout=30)
        sim.clock.advance(5 * 60)
        counting(sub, sensor, above=totals(sub, sensor)[-1])

    with subscriber(broker, (f"flume/{sensor}/state",)) as sub:
        serve(env, log, sub, count_a_while)
        before = totals(sub, sensor)
        for name in damaged:
            (state_dir / name).write_bytes(GARBAGE)
        sim.clock.advance(10 * 60)
        serve(env, log, sub, count_on)
        after = totals(sub, sensor)[len(before) :]
    logging.getLogger(__name__).info("totals before %s, after %s L", before, after)
    assert min(after) >= max(before), (before, after)
    text = log.read_text()
    assert "Traceback" not in text
    if PREVIOUS in damaged:
        assert f"recovered the count of {sensor}" in text
    else:
        assert "resumed from meter.json.1" in text

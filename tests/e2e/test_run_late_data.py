"""The counter gauntlet with upload outages: water reaching Flume late is counted."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bridge.simulator.server import Simulator
from tests.conftest import BrokerFactory
from tests.e2e.test_run_gauntlet import OFFSET, Gauntlet, settled, states
from tests.support.bridge import bridge_env
from tests.support.clock import parse_utc
from tests.support.mqtt import subscriber
from tests.support.simulator import SimFactory, truth

# The simulator's data latency (2 min) and the meter's lag (3 min), and a minute
# for the poll: by then every minute of the outage reads its true value.
RELEASED = 6


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def upload_outage(sim: Simulator, sensor: str, hours: int) -> datetime:
    """An upload outage from the simulator's now for `hours`; returns its end."""
    start = sim.clock.now().replace(second=0, microsecond=0)
    end = start + timedelta(hours=hours)
    document = {"device_id": sensor, "since": z(start), "until": z(end)}
    response = requests.post(f"{sim.url}/_sim/outages", json=document, timeout=10)
    response.raise_for_status()
    return end


def missing(sim: Simulator, sensor: str, state: dict[str, Any]) -> float:
    """Gallons of the truth the state's `total` lacks."""
    since, through = parse_utc(state["total_since"]), parse_utc(state["total_through"])
    return truth(sim, sensor, since, through) - (float(state["total"]) - OFFSET)


def late(run: Gauntlet, hours: int, *, killed: bool) -> tuple[float, dict[str, Any]]:
    """An upload outage polled through; the water it held back, and the state after.

    The bridge counts the outage's minutes while they read 0 (its sensor still looks
    connected: the device list is not due), then they arrive after the release. When
    `killed`, the bridge is killed ten minutes before the release and restarted 45
    minutes later: what it counted per hour must survive in the meter file.
    """
    end = upload_outage(run.sim, run.sensor, hours)
    run.step(45)
    inside = run.step(hours * 60 - 55)  # ten minutes before the end
    held = missing(run.sim, run.sensor, inside)
    if killed:
        run.killed()
        through = settled(run.sim)
        after = next(
            s for s in states(run.sub, run.sensor) if s["total_through"] == through
        )
    else:
        after = run.step(10 + RELEASED)
    assert run.sim.clock.now() >= end + timedelta(minutes=RELEASED)
    return held, after


def test_water_uploaded_late_reaches_the_total_once(
    sim_factory: SimFactory, broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    """After upload outages of 2 and 20 hours (and a kill), `total` is the truth."""
    sim = sim_factory(leak=True)  # the leak keeps water running through the outages
    broker = broker_factory()
    sensor = next(d for d in sim.model.account.devices if d.type == 2).id
    env = bridge_env(sim, broker, tmp_path / "state", METER_OFFSET=str(OFFSET))
    with subscriber(broker, ("flume/#",)) as sub:
        run = Gauntlet(sim, broker, sub, env, tmp_path / "bridge.log", sensor)
        run.start()
        try:
            sub.wait_for(lambda _: bool(states(sub, sensor)), timeout=30)
            run.step(30)
            found = [late(run, 2, killed=False), late(run, 20, killed=True)]
        finally:
            assert run.stop() == 0, run.logs.read_text()
        published = [s["total"] for s in states(sub, sensor)]
    figures = [(round(held, 5), missing(sim, sensor, after)) for held, after in found]
    print(f"\nlate data: (held back, missing after release) {figures}")  # noqa: T201
    for held, after in found:
        assert held > 0.1, held  # the outage held back water (the leak runs on)
        assert abs(missing(sim, sensor, after)) <= 1e-6, after
    assert published == sorted(published)  # never decreased
    assert "Traceback" not in run.logs.read_text()

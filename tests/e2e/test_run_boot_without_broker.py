"""`flume-mqtt run` booted with no broker: ready at once, serving on its arrival."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bridge.simulator.server import Simulator
from tests.conftest import BrokerFactory
from tests.support.bridge import BridgeProcess, notified_bridge
from tests.support.broker import Broker
from tests.support.flume import route_count, sim_stats
from tests.support.mqtt import Seen, subscriber
from tests.support.notify import Manager
from tests.support.simulator import SimFactory

QUERY = "POST /users/{uid}/devices/{did}/query"
PER_HOUR = 100  # FLUME_REQUESTS_PER_HOUR: usage every minute for one sensor
ARRIVAL_LIMIT = 10.0  # seconds from the broker's start to the retained state
WAIT = 30.0  # for anything else on a loaded machine; never an assertion on speed


def start(
    sim: Simulator, broker: Broker, manager: Manager, tmp_path: Path
) -> BridgeProcess:
    """A bridge for `broker`'s port, notifying `manager` and pinging its watchdog."""
    return notified_bridge(
        sim,
        broker,
        manager.path,
        tmp_path,
        WATCHDOG_USEC="2000000",
        FLUME_REQUESTS_PER_HOUR=str(PER_HOUR),
    )


def arrival(broker: Broker, sensor: str) -> tuple[Seen, float]:
    """Start `broker`: the first state a subscriber gets there, and how much later."""
    started = time.monotonic()
    broker.start()
    with subscriber(broker, (f"flume/{sensor}/state",)) as sub:
        first = sub.wait_for(bool, timeout=ARRIVAL_LIMIT + WAIT)[0]
    return first, first.at - started


@pytest.mark.parametrize(
    "outage",
    [
        pytest.param(10.0, id="10s", marks=pytest.mark.timeout(120)),
        pytest.param(
            300.0, id="5min", marks=[pytest.mark.slow, pytest.mark.timeout(600)]
        ),
    ],
)
def test_a_broker_absent_at_boot_holds_nothing_back(
    outage: float,
    sim_factory: SimFactory,
    broker_factory: BrokerFactory,
    manager: Manager,
    tmp_path: Path,
) -> None:
    """READY=1 without a broker; Flume polled within budget; states on its arrival."""
    sim = sim_factory(latency_minutes=0)
    sensor = sim.model.account.sensors[0].id
    broker = broker_factory()
    broker.stop()  # its port stays ours: nothing listens there until start()
    booted = time.monotonic()
    bridge = start(sim, broker, manager, tmp_path)
    try:
        manager.wait(lambda m: "READY=1" in m, "READY=1")
        ready = manager.times("READY=1")[0] - booted
        manager.wait_status("waiting for the MQTT broker")
        time.sleep(max(0.0, booted + outage - time.monotonic()))
        assert bridge.process.poll() is None, bridge.text()
        polls = route_count(sim, QUERY)
        found, took = arrival(broker, sensor)
        manager.wait_status("broker connected")
        pings = len(manager.times("WATCHDOG=1"))
    finally:
        code = bridge.stop()
    stats = sim_stats(sim)
    print(  # noqa: T201  # the issue's figures
        f"\nno broker for {outage:.0f} s: READY=1 after {ready:.1f} s, {polls} usage "
        f"polls, {stats['total']} requests in all, a retained state {took:.1f} s "
        f"after the broker started"
    )
    assert code == 0, bridge.text()
    assert json.loads(found.payload)["device_id"] == sensor
    assert polls >= max(1, int(outage // 60) - 1)  # usage every minute went on
    assert stats["total"] <= PER_HOUR
    assert "429" not in stats["by_status"]
    assert pings >= outage / 2  # the loop turned and pinged throughout
    assert took < ARRIVAL_LIMIT

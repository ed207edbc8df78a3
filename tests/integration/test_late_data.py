"""Late data against the simulator's upload outages, one usage poll per cycle.

The simulator holds an outage's minutes back (they read 0) until its end plus the
data latency, with the sensor `connected: false` and `last_seen` frozen at the
start meanwhile. Each cycle here is what the service does: the device list when it
is due, then one usage poll (one POST), whose total must equal the truth.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from bridge.flume.client import FlumeClient
from bridge.meter import Meter
from bridge.models import Device, Usage
from bridge.service.usage import poll
from bridge.simulator.behaviour import Behaviour
from bridge.simulator.server import Simulator
from tests.support.flume import WiringFactory, route_count
from tests.support.simulator import START, SimFactory, truth

QUERY = "POST /users/{uid}/devices/{did}/query"
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
T1 = START.replace(second=0) + 30 * MINUTE


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Cycles:
    """One sensor's usage polls (and device lists) at chosen simulator times."""

    def __init__(self, sim: Simulator, client: FlumeClient, meter: Meter) -> None:
        self.sim, self.client, self.meter = sim, client, meter
        self.sensor = sim.model.account.sensors[0].id
        self.device: Device | None = None
        self.posts: list[int] = []  # query POSTs per poll

    def listed(self) -> Device:
        """The device list, as the service takes it every 15 minutes or so."""
        self.device = next(d for d in self.client.devices() if d.id == self.sensor)
        return self.device

    def at(self, when: datetime, *, listed: bool = False) -> Usage:
        """A poll at `when` (after a fresh device list if `listed`)."""
        self.sim.clock.set(when)
        device = self.listed() if listed or self.device is None else self.device
        before = route_count(self.sim, QUERY)
        usage = poll(self.client, self.meter, device, when)
        self.posts.append(route_count(self.sim, QUERY) - before)
        return usage

    def missing(self, usage: Usage) -> float:
        """Gallons of the truth the count lacks."""
        since, through = usage.total_since, usage.total_through
        return truth(self.sim, self.sensor, since, through) - usage.total_gallons

    def outage(self, since: datetime, until: datetime) -> None:
        """POST /_sim/outages for the sensor."""
        document = {"device_id": self.sensor, "since": z(since), "until": z(until)}
        url = f"{self.sim.url}/_sim/outages"
        requests.post(url, json=document, timeout=10).raise_for_status()


# Our reading of the docs, and a server that ignores group_multiplier, answers
# newest first and enforces the limits other clients report (issue 13).
READINGS = {
    "documented": Behaviour(),
    "ungrouped, desc": Behaviour(
        reading="ungrouped", sort="desc", max_queries=10, max_min_hours=24
    ),
}


@pytest.fixture(params=list(READINGS))
def cycles(
    request: pytest.FixtureRequest,
    sim_factory: SimFactory,
    wire: WiringFactory,
    tmp_path: Path,
) -> Cycles:
    """A simulator with a leak (every minute wet), its client and a meter."""
    behaviour = READINGS[request.param]
    sim = sim_factory(latency_minutes=2, rate_limit=10_000, behaviour=behaviour)
    sim.model.start_leak(sim.model.account.sensors[0].id, 0.05)
    wiring = wire(sim)
    return Cycles(sim, FlumeClient(wiring.http, wiring.tokens), Meter(tmp_path))


@pytest.mark.parametrize("hours", [2, 20])
def test_minutes_counted_during_an_outage_are_recounted_after_it(
    cycles: Cycles, hours: int
) -> None:
    """Counted as 0 while held, the outage's water is added once it arrives.

    The device list is not due during the outage: the sensor still looks connected.
    """
    end = T1 + hours * HOUR
    cycles.outage(T1, end)
    cycles.at(T1 - 10 * MINUTE, listed=True)
    during = cycles.at(end - 10 * MINUTE)
    assert cycles.missing(during) > 0.05 * 60 * (hours - 1)
    after = cycles.at(end + 6 * MINUTE)
    assert cycles.missing(after) == pytest.approx(0, abs=1e-6)
    again = cycles.at(end + 7 * MINUTE)
    assert cycles.missing(again) == pytest.approx(0, abs=1e-6)
    assert again.total_gallons >= after.total_gallons >= during.total_gallons
    assert cycles.posts == [1, 1, 1, 1]


def test_a_disconnected_sensor_is_counted_up_to_its_last_seen(cycles: Cycles) -> None:
    """A 30-hour outage outlasts the re-read day: nothing after last_seen settles.

    While the list says disconnected, the count waits (its poll asks only the short
    windows); once it says connected again, the back-fill reads the held hours with
    their true water.
    """
    end = T1 + 30 * HOUR
    cycles.outage(T1, end)
    before = cycles.at(T1 - 10 * MINUTE, listed=True)
    held = cycles.at(T1 + 26 * HOUR, listed=True)
    assert cycles.device is not None
    assert cycles.device.connected is False
    assert held.total_through == before.total_through < T1
    assert held.total_gallons == before.total_gallons
    assert held.flow_gpm is None  # the newest settled minute was not read
    assert held.windows["today"] >= 0  # every other field is read as usual
    after = cycles.at(end + 6 * MINUTE, listed=True)
    assert after.total_through == end + 3 * MINUTE
    assert cycles.missing(after) == pytest.approx(0, abs=1e-6)
    assert cycles.posts == [1, 1, 1]

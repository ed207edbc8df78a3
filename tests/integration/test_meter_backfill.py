"""The meter against the simulator: each cycle is one query, and the count is the truth.

A leak runs under the household's water throughout (with a new rate at every jump),
so every minute is wet and a minute counted twice, or not at all, shows in the sum.
The simulator's data arrives 2 minutes late and the meter waits 3, so after each
cycle it has counted exactly up to its horizon, unless a back-fill batch was capped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bridge.flume.client import FlumeClient
from bridge.flume.windows import BACKFILL_HOURS, queries, usage_windows
from bridge.meter import Meter, Reading
from bridge.service.usage import read
from bridge.simulator.server import Simulator
from tests.support.clock import utc
from tests.support.flume import WiringFactory, route_count
from tests.support.simulator import SimFactory, truth

QUERY = "POST /users/{uid}/devices/{did}/query"
TIMEOUT = 10
HOUR = timedelta(hours=1)
# After first sight: the clock jumps, then cycles run until the meter is caught up.
JUMPS = ((timedelta(0), 1), (HOUR, 1), (30 * HOUR, 1), (timedelta(days=40), 2))


class Bridge:
    """What the service does each cycle for one sensor, against one simulator."""

    def __init__(self, sim: Simulator, client: FlumeClient, meter: Meter) -> None:
        self.sim = sim
        self.client = client
        self.meter = meter
        self.device = sim.model.account.sensors[0].id
        self.tz = sim.model.account.locations[0].tz

    def cycle(self) -> Reading:
        """One batched query; the meter counts what its series windows hold."""
        now = self.sim.clock.now()
        reading = self.meter.begin(self.device, now)
        windows = usage_windows(now, self.tz, counted_through=reading.through)
        before = route_count(self.sim, QUERY)
        answer = self.client.query(self.device, queries(windows))
        assert route_count(self.sim, QUERY) == before + 1
        _, spans = read(windows, answer)  # what the service's usage poll counts
        return self.meter.count(self.device, spans, self.meter.horizon(now))

    def truth(self, since: datetime, until: datetime) -> float:
        """GET /_sim/truth: the gallons in [since, until)."""
        return truth(self.sim, self.device, since, until)


# A zone and the first sight; odd seconds, so `now` is floored. The 30-hour jump
# crosses the change; where first sight is in the hour before a fall-back, the
# 1-hour jump leaves the meter counted through the repeated hour.
SCENARIOS = {
    "LA fall-back": ("America/Los_Angeles", utc(2026, 10, 31, 17, 10, 25)),
    "LA through the repeated hour": (
        "America/Los_Angeles",
        utc(2026, 11, 1, 8, 40, 25),  # 01:40 PDT; an hour later 01:37 PST is counted
    ),
    "LA spring-forward": ("America/Los_Angeles", utc(2026, 3, 7, 15, 0, 59)),
    "Berlin spring-forward": ("Europe/Berlin", utc(2026, 3, 28, 12, 0, 7)),
    "Berlin through the repeated hour": (
        "Europe/Berlin",
        utc(2026, 10, 25, 0, 20, 51),  # 02:20 CEST; an hour later 02:17 CET
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_cycle_counts_up_to_its_horizon_exactly_the_truth(
    name: str, sim_factory: SimFactory, wire: WiringFactory, tmp_path: Path
) -> None:
    """After 1 h, 30 h and 40 days away, one query per cycle catches the meter up.

    Counted through the horizon, the total equals the truth from `since` to
    `through`; 40 days take two cycles (31 days per back-fill batch).
    """
    tz, first_sight = SCENARIOS[name]
    sim = sim_factory(timezones=(tz,), latency_minutes=2, rate_limit=10_000)
    sim.clock.set(first_sight - HOUR)
    bridge = Bridge(sim, FlumeClient(wire(sim).http, wire(sim).tokens), Meter(tmp_path))
    when, last = first_sight, None
    for rate, (jump, cycles) in enumerate(JUMPS, start=1):
        bridge.sim.model.start_leak(bridge.device, 0.01 + rate * 0.07)
        when += jump
        sim.clock.set(when)
        readings = [bridge.cycle() for _ in range(cycles)]
        final = readings[-1]
        assert final.through == max(bridge.meter.horizon(when), final.since)
        if cycles > 1 and last is not None:  # the first batch was capped at 31 days
            # Minutes to the next local hour, then whole HR buckets (issue 13).
            caught_up = readings[0].through - last.through
            assert BACKFILL_HOURS * HOUR - HOUR < caught_up <= BACKFILL_HOURS * HOUR
        expected = bridge.truth(final.since, final.through)
        assert final.gallons == pytest.approx(expected, abs=1e-6), (name, jump)
        assert Meter(tmp_path).reading(bridge.device) == final
        last = final
    assert last is not None
    assert last.gallons > 0

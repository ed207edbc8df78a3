"""Batch limits against the simulator: at most 10 queries a POST, 24 hours a MIN series.

With the limits the simulator can enforce (`max_queries`, `max_min_hours`, answered
with a 400 code 94 naming the limit), the usage poll sends one POST a cycle, never a
refused one, even while back-filling 40 days or in the hour after a fall-back; a
smaller limit named by a 400 is learnt at once, and the request is split, never
sent again as it was.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bridge.flume.client import FlumeClient
from bridge.meter import Meter
from bridge.models import Device, Location, Usage
from bridge.service.usage import poll
from bridge.simulator.behaviour import Behaviour
from bridge.simulator.server import Simulator
from tests.support.clock import utc
from tests.support.flume import WiringFactory, sim_stats
from tests.support.simulator import SimFactory, truth

QUERY = "POST /users/{uid}/devices/{did}/query"
LA = "America/Los_Angeles"


def query_counts(sim: Simulator) -> dict[str, int]:
    """Query POSTs the simulator answered, by status."""
    counts: dict[str, int] = (
        sim_stats(sim)["by_route"].get(QUERY, {}).get("by_status", {})
    )
    return counts


def sensor(sim: Simulator) -> Device:
    device = sim.model.account.sensors[0]
    return Device(device.id, 2, 1, Location(1, "Home", LA))


def cycle(
    sim: Simulator, client: FlumeClient, meter: Meter, when: datetime
) -> tuple[Usage, dict[str, int]]:
    """One usage poll at `when`: its reading and the query POSTs it sent."""
    sim.clock.set(when)
    before = query_counts(sim)
    usage = poll(client, meter, sensor(sim), when)
    after = query_counts(sim)
    sent = {k: v - before.get(k, 0) for k, v in after.items()}
    return usage, {k: v for k, v in sent.items() if v}


def check_truth(sim: Simulator, usage: Usage) -> None:
    """The counter and last_24_hours equal the truth."""
    device = sim.model.account.sensors[0].id
    counted = truth(sim, device, usage.total_since, usage.total_through)
    assert usage.total_gallons == pytest.approx(counted, abs=1e-6)
    end = usage.updated_at
    day = truth(sim, device, end - timedelta(hours=24), end)
    assert usage.windows["last_24_hours"] == pytest.approx(day, abs=1e-6)


def test_within_the_limits_every_cycle_is_one_post_even_while_catching_up(
    sim_factory: SimFactory, wire: WiringFactory, tmp_path: Path
) -> None:
    """10 queries and 24 hours enforced: 40 days behind, and after a fall-back."""
    limits = Behaviour(max_queries=10, max_min_hours=24)
    sim = sim_factory(latency_minutes=0, rate_limit=10_000, behaviour=limits)
    sim.model.start_leak(sim.model.account.sensors[0].id, 0.05)
    client = FlumeClient(wire(sim).http, wire(sim).tokens)
    meter = Meter(tmp_path)
    start = utc(2026, 9, 20, 9, 17, 0)
    steady = [
        start,
        start + timedelta(days=40),  # a 31-day back-fill in the same POST
        start + timedelta(days=40, minutes=1),  # the rest
        utc(2026, 11, 2, 9, 30, 0),  # after a catch-up (below): 24 h in two parts
        utc(2026, 11, 2, 9, 31, 0),
    ]
    for when in steady:
        if when == steady[3]:
            # Three days behind, with the minutes series in two parts as well: 11
            # queries, so two POSTs, only while catching up.
            usage, sent = cycle(sim, client, meter, when - timedelta(minutes=1))
            assert sent == {"200": 2}, sent
        usage, sent = cycle(sim, client, meter, when)
        assert sent == {"200": 1}, (when, sent)
    check_truth(sim, usage)
    assert client.habits.dialect == type(client.habits.dialect)()  # nothing learnt


def test_a_smaller_limit_named_by_a_400_is_learnt_and_split(
    sim_factory: SimFactory,
    wire: WiringFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """4 queries and 12 hours: one refusal each, then split POSTs and parts."""
    limits = Behaviour(max_queries=4, max_min_hours=12)
    sim = sim_factory(latency_minutes=0, rate_limit=10_000, behaviour=limits)
    sim.model.start_leak(sim.model.account.sensors[0].id, 0.05)
    client = FlumeClient(wire(sim).http, wire(sim).tokens)
    meter = Meter(tmp_path)
    start = utc(2026, 3, 10, 18, 30, 0)
    caplog.set_level(logging.INFO, logger="bridge.flume.dialect")
    _, first = cycle(sim, client, meter, start)
    assert first["400"] == 2, first  # the query count, then the 24-hour series
    usage, sent = cycle(sim, client, meter, start + timedelta(minutes=10))
    assert sent == {"200": 2}, sent  # 8 queries: the 24 hours in two parts
    check_truth(sim, usage)
    dialect = client.habits.dialect
    assert (dialect.max_queries, dialect.max_min_hours) == (4, 12)
    lessons = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert lessons == [
        "Flume takes at most 4 queries per request: splitting batches",
        "Flume takes at most 12 hours per MIN series: splitting them",
    ]


def test_a_refusal_that_teaches_nothing_is_not_sent_again_in_the_cycle(
    sim_factory: SimFactory, wire: WiringFactory, tmp_path: Path
) -> None:
    """A 400 naming no limit fails the poll once; the next cycle asks once again."""
    sim = sim_factory(latency_minutes=0, rate_limit=10_000)
    client = FlumeClient(wire(sim).http, wire(sim).tokens)
    requests_before = query_counts(sim)
    sim.state.faults.add({"route": "*/query", "status": 400})
    with pytest.raises(Exception, match="HTTP 400"):
        poll(client, Meter(tmp_path), sensor(sim), utc(2026, 3, 10, 18, 30, 0))
    assert query_counts(sim) == {**requests_before, "400": 1}

"""Flume requests in a simulated hour for 1, 2, 4 and 8 sensors at the default budget.

The real Jobs run at the plan's cadences, all due at the start as when the service
starts (the busiest hour there is), on the simulator's frozen clock moved from one
job to the next; the simulator's /_sim/stats counts what arrived.
"""

from __future__ import annotations

import heapq
import itertools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench.pollers import bridge_parts
from bridge.config import Settings
from bridge.errors import BridgeError
from bridge.flume.planner import HOUR, Plan, plan
from bridge.jobs import Jobs
from bridge.models import Message
from bridge.simulator.account import SimConfig
from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator

START = datetime(2026, 3, 10, 18, 30, 15, tzinfo=UTC)  # tests/support/simulator.py's
SENSOR_COUNTS = (1, 2, 4, 8)

Job = Callable[[], None]


@dataclass(frozen=True)
class HourResult:
    """What one simulated hour cost and gave."""

    sensors: int
    plan: Plan
    requests: int  # Flume requests the simulator answered in the hour
    rate_limited: int  # of those, answered 429
    failures: int  # jobs that raised (the service would retry them)
    states: int  # state messages published


# (due second, order, interval, job): the order breaks ties as the scheduler does.
Due = tuple[int, int, int, Job]


def _queue(jobs: Jobs, chosen: Plan, sensors: list[str]) -> list[Due]:
    """Every job with its first due second, as Service._schedule plans them."""
    order = itertools.count()
    due: list[Due] = []

    def add(first: int, interval: int, job: Job) -> None:
        due.append((first, next(order), interval, job))

    add(chosen.device_interval, chosen.device_interval, jobs.devices)
    add(0, chosen.alert_interval, jobs.alerts)
    for sensor in sensors:
        add(0, chosen.usage_interval, _bound(jobs.usage, sensor))
        add(0, chosen.leak_interval, _bound(jobs.leaks, sensor))
    heapq.heapify(due)
    return due


def _bound(job: Callable[[str], None], device_id: str) -> Job:
    return lambda: job(device_id)


def _drive(sim: Simulator, due: list[Due]) -> int:
    """Run the jobs in simulated time until the hour ends; count the failures."""
    failures = 0
    elapsed = 0
    while due[0][0] < HOUR:
        when, order, interval, job = heapq.heappop(due)
        sim.clock.advance(when - elapsed)
        elapsed = when
        try:
            job()
        except BridgeError:
            failures += 1
        heapq.heappush(due, (when + interval, order, interval, job))
    return failures


def one_hour(sensors: int, state_dir: Path) -> HourResult:
    """Start as the service does, then an hour of the plan's jobs; count requests."""
    sim = Simulator(SimConfig(sensors=sensors), SimClock(START, speed=0.0))
    url = sim.start()
    sent: list[Message] = []
    settings = Settings(flume_api_url=url, state_dir=state_dir)
    with requests.Session() as session:
        parts = bridge_parts(settings, session, lambda: sim.clock.now().timestamp())
        jobs = Jobs(parts, sent.append, started=parts.now())
        jobs.devices()  # the service's first job, at second 0
        chosen = plan(settings.flume_requests_per_hour, sensors)
        jobs.plan = chosen
        ids = [device.id for device in jobs.board.sensors()]
        failures = _drive(sim, _queue(jobs, chosen, ids))
        stats = session.get(f"{url}/_sim/stats", timeout=10).json()
    sim.stop()
    return HourResult(
        sensors=sensors,
        plan=chosen,
        requests=stats["total"],
        rate_limited=stats["by_status"].get("429", 0),
        failures=failures,
        states=sum(m.topic.endswith("/state") for m in sent),
    )


def every_count() -> list[HourResult]:
    """One simulated hour for each of 1, 2, 4 and 8 sensors."""
    results = []
    for sensors in SENSOR_COUNTS:
        with tempfile.TemporaryDirectory(prefix="flume-bench-") as temp:
            results.append(one_hour(sensors, Path(temp)))
    return results


if __name__ == "__main__":
    for result in every_count():
        print(result)

"""Flume requests in a simulated hour for 1, 2, 4 and 8 sensors at the default budget.

The real Service runs, its loop turned on the simulator's frozen clock moved from one
job to the next (tests/support/timetable.py), from its start (every job due at once:
the busiest hour there is); the simulator's /_sim/stats counts what arrived.
"""

from __future__ import annotations

import tempfile
import threading
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench.pollers import HOST, bridge_parts
from bridge import app
from bridge.config import Settings
from bridge.flume.planner import HOUR, Plan
from bridge.models import Message
from bridge.mqtt import MqttPublisher
from bridge.simulator.account import SimConfig
from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator
from tests.support.timetable import FailedJobs, SteppedTimetable

START = datetime(2026, 3, 10, 18, 30, 15, tzinfo=UTC)  # tests/support/simulator.py's
SENSOR_COUNTS = (1, 2, 4, 8)


@dataclass(frozen=True)
class HourResult:
    """What one simulated hour cost and gave."""

    sensors: int
    plan: Plan
    requests: int  # Flume requests the simulator answered in the hour
    rate_limited: int  # of those, answered 429
    failures: int  # jobs that raised (the service retries them)
    states: int  # state messages published


class Counting(MqttPublisher):
    """The publisher, counting the states it is handed."""

    states = 0

    def publish(self, message: Message) -> None:
        """Count a state, then publish it."""
        self.states += message.topic.endswith("/state")
        super().publish(message)


def one_hour(sensors: int, state_dir: Path, port: int) -> HourResult:
    """The service from its start through a simulated hour; count the requests."""
    sim = Simulator(SimConfig(sensors=sensors), SimClock(START, speed=0.0))
    url = sim.start()

    def seconds() -> float:
        return sim.clock.now().timestamp()

    settings = Settings(
        flume_api_url=url,
        state_dir=state_dir,
        mqtt_host=HOST,
        mqtt_port=port,
        mqtt_client_id=f"bench-hour-{sensors}",
    )
    timetable, publisher = SteppedTimetable(seconds), Counting(settings)
    with closing(bridge_parts(settings, seconds)) as parts, FailedJobs() as failed:
        service = app.service(
            parts, threading.Event(), publisher=publisher, timetable=timetable
        )
        service.start()
        end = seconds() + HOUR
        while timetable.next_due < end:
            sim.clock.advance(max(0.0, timetable.next_due - seconds()))
            service.step()
        chosen = service.jobs.plan
        service.close()
    stats = requests.get(f"{url}/_sim/stats", timeout=10).json()
    sim.stop()
    if chosen is None:
        raise RuntimeError("the service never listed the devices")
    return HourResult(
        sensors=sensors,
        plan=chosen,
        requests=stats["total"],
        rate_limited=stats["by_status"].get("429", 0),
        failures=sum(failed.by_class.values()),
        states=publisher.states,
    )


def every_count(port: int) -> list[HourResult]:
    """One simulated hour for each of 1, 2, 4 and 8 sensors."""
    results = []
    for sensors in SENSOR_COUNTS:
        with tempfile.TemporaryDirectory(prefix="flume-bench-") as temp:
            results.append(one_hour(sensors, Path(temp), port))
    return results

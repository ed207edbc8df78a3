"""A simulated day on an account another client shares: no 429, no hour over 120."""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
import requests

from bridge import app
from bridge.config import Settings
from bridge.flume.planner import Plan, plan
from bridge.models import Message
from bridge.mqtt import MqttPublisher
from bridge.simulator.behaviour import Behaviour
from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator
from tests.conftest import BrokerFactory
from tests.support.mqtt import broker_settings
from tests.support.simulator import START, SimFactory
from tests.support.soak import seconds_of, week_parts
from tests.support.timetable import FailedJobs, SteppedTimetable

HOUR = 3600.0
FLUME_HOUR = 120
OTHER = 60  # requests an hour another client spends on the account
RAMP = 2 * HOUR  # the other client's hour fills, the bridge learns of it
TIMEOUT = 10


class Freshness(MqttPublisher):
    """The publisher, noting each sensor state's `updated_at` on the simulated clock."""

    def __init__(self, settings: Settings, seconds: Callable[[], float]) -> None:
        super().__init__(settings)
        self._seconds = seconds
        self.polls: dict[str, list[float]] = {}  # sensor -> updated_at of each poll

    def publish(self, message: Message) -> None:
        """Note a new reading of a sensor, then publish."""
        if message.topic.endswith("/state") and message.payload:
            self._note(json.loads(message.payload))
        super().publish(message)

    def _note(self, state: dict[str, object]) -> None:
        updated = state.get("updated_at")
        if not isinstance(updated, str):
            return
        at = datetime.fromisoformat(updated).timestamp()
        polls = self.polls.setdefault(str(state["device_id"]), [])
        if not polls or polls[-1] != at:
            polls.append(at)


@dataclass
class Day:
    """What the bridge and the other client did, from the simulator's own records."""

    ours: list[float] = field(default_factory=list)  # our admitted requests' times
    statuses: Counter[str] = field(default_factory=Counter)
    other: dict[str, int] = field(default_factory=dict)  # /_sim/stats other_client
    plan: Plan | None = None
    remaining: int | None = None  # what the bridge last heard remains
    polls: dict[str, list[float]] = field(default_factory=dict)

    def drain(self, sim: Simulator) -> None:
        """Take the simulator's request log and empty it."""
        url = f"{sim.url}/_sim/stats"
        stats = requests.get(url, params={"log": "true"}, timeout=TIMEOUT).json()
        requests.delete(url, timeout=TIMEOUT).raise_for_status()
        assert stats["log_dropped"] == 0
        for entry in stats["log"]:
            self.statuses[entry["status"]] += 1
            if entry["status"] != "429":  # refused: not in the account's hour
                self.ours.append(datetime.fromisoformat(entry["at"]).timestamp())
        for key in ("admitted", "refused"):
            self.other[key] = self.other.get(key, 0) + stats["other_client"][key]

    def account_peak(self, begin: float, end: float) -> int:
        """The busiest rolling hour of the account: our requests and the other's."""
        # The simulator's other client: evenly spaced from its start (ratelimit.py).
        step = HOUR / OTHER
        others = [begin + step * k for k in range(1, int((end - begin) / step) + 1)]
        return busiest_hour(sorted(self.ours + others))

    def longest_gap(self, since: float) -> float:
        """The longest time between two readings of a sensor, from `since` on."""
        gaps = [
            later - earlier
            for polls in self.polls.values()
            for earlier, later in itertools.pairwise(polls)
            if earlier >= since
        ]
        return max(gaps)


def busiest_hour(times: list[float]) -> int:
    """The most times within any rolling hour (one exactly an hour old has left)."""
    peak, first = 0, 0
    for last, at in enumerate(times):
        while times[first] <= at - HOUR:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


def run_day(
    sim: Simulator,
    settings: Settings,
    hours: float,
    change: tuple[float, dict[str, object]] | None = None,
) -> Day:
    """The real Service on the simulator's clock for `hours`, moved job to job.

    `change`: after so many hours, POST these settings to /_sim/behaviour.
    """
    clock = sim.clock
    seconds = seconds_of(clock)
    day = Day()
    timetable = SteppedTimetable(seconds)
    publisher = Freshness(settings, seconds)
    begin = seconds()
    with closing(week_parts(settings, clock)) as parts, FailedJobs():
        service = app.service(
            parts,
            threading.Event(),
            publisher=publisher,
            timetable=timetable,
            monotonic=seconds,
        )
        service.start()
        drain_at = begin + HOUR
        while timetable.next_due <= begin + hours * HOUR:
            if change is not None and timetable.next_due >= begin + change[0] * HOUR:
                url = f"{sim.url}/_sim/behaviour"
                requests.post(url, json=change[1], timeout=TIMEOUT).raise_for_status()
                change = None
            if timetable.next_due >= drain_at:
                day.drain(sim)
                drain_at += HOUR
            clock.advance(max(0.0, timetable.next_due - seconds()))
            service.step()
        day.drain(sim)
        day.plan = service.jobs.plan
        day.remaining = parts.budget.remaining()
        service.close()
    day.polls = publisher.polls
    return day


@pytest.mark.timeout(120)
def test_a_day_beside_another_client_spending_60_an_hour(
    sim_factory: SimFactory, broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    """Beside 60 requests an hour of another client: no 429, no hour over 120.

    Real: the simulator (rate-limit headers on, another client at 60 an hour),
    FlumeHttp, RequestBudget, the planner, the Service with its jobs, mosquitto.
    Simulated: a day, one clock moved from job to job. The bridge plans for what Flume
    says remains (120 less the other client's 60), and its sensor is read as often as
    that plan says.
    """
    behaviour = Behaviour(other_client_per_hour=OTHER)
    sim = sim_factory(SimClock(START, speed=0.0), behaviour=behaviour)
    settings = broker_settings(
        broker_factory(), flume_api_url=sim.url, state_dir=tmp_path / "state"
    )
    day = run_day(sim, settings, hours=24)
    begin = START.timestamp()
    peak = day.account_peak(begin, begin + 24 * HOUR)
    expected = plan(FLUME_HOUR - OTHER, 1)
    gap = day.longest_gap(begin + RAMP)
    print(  # noqa: T201  # the figures the README quotes
        f"\nshared day: requests {len(day.ours)} {dict(day.statuses)}, other client "
        f"{day.other}, busiest account hour {peak}, plan {day.plan}, longest gap "
        f"between readings after the ramp {gap:.0f} s, in the whole day "
        f"{day.longest_gap(begin):.0f} s"
    )
    assert day.statuses["429"] == 0
    assert day.other["refused"] == 0
    assert peak <= FLUME_HOUR
    assert day.plan == expected
    assert gap <= expected.usage_interval + 60  # updated_at is a minute's start


def test_without_headers_the_bridge_plans_on_its_own_budget_as_before(
    sim_factory: SimFactory, broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    """No X-RateLimit-* headers: the plan is the budget's, blind to the other client.

    What the bridge did before it read the headers, and still does where Flume sends
    none: the account runs over and Flume answers 429, which the bridge survives.
    """
    behaviour = Behaviour(other_client_per_hour=OTHER, rate_headers=False)
    sim = sim_factory(SimClock(START, speed=0.0), behaviour=behaviour)
    settings = broker_settings(
        broker_factory(), flume_api_url=sim.url, state_dir=tmp_path / "state"
    )
    day = run_day(sim, settings, hours=3)
    print(  # noqa: T201  # the failure the headers cure
        f"\nno headers: requests {dict(day.statuses)}, other client {day.other}"
    )
    assert day.plan == plan(settings.flume_requests_per_hour, 1)
    assert day.remaining is None
    assert day.statuses["429"] > 0
    assert day.polls  # and it kept publishing


def test_when_the_other_client_stops_the_plan_comes_back_once(
    sim_factory: SimFactory, broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    """The neighbour stops after 3 hours: within two, the whole budget is planned."""
    behaviour = Behaviour(other_client_per_hour=OTHER)
    sim = sim_factory(SimClock(START, speed=0.0), behaviour=behaviour)
    settings = broker_settings(
        broker_factory(), flume_api_url=sim.url, state_dir=tmp_path / "state"
    )
    day = run_day(sim, settings, hours=6, change=(3, {"other_client_per_hour": 0}))
    assert day.statuses["429"] == 0
    assert day.other["refused"] == 0
    assert day.plan == plan(settings.flume_requests_per_hour, 1)
    assert day.remaining is not None

"""The deterministic household: a sensor's water events, one seeded local day at a time.

Rates are whole numbers of UNITS per minute (1 unit = 1/256 gallon), so every minute's
volume is a dyadic rational and any sum of minutes is exact in float.
"""

from __future__ import annotations

import functools
import math
import random
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from bridge.simulator.account import derive
from bridge.simulator.timebase import local_to_minutes, to_local

UNITS_PER_GALLON = 256
DAY_CACHE_SIZE = 8192
MINUTES_PER_DAY = 1440


@dataclass(frozen=True, slots=True)
class Fixture:
    """A kind of water use: how often, how long, how fast, and at which local hours."""

    name: str
    per_day: float  # mean uses a day, per resident or per household
    per_resident: bool
    minutes: tuple[int, int]  # duration range, inclusive
    rate: tuple[int, int]  # units per minute, inclusive
    windows: tuple[
        tuple[int, int], ...
    ]  # local [from, to) hours; repeats weight a window


FIXTURES = (
    Fixture("shower", 0.8, True, (5, 12), (448, 640), ((6, 9), (6, 9), (19, 23))),
    Fixture("toilet", 5.0, True, (1, 2), (300, 420), ((6, 23),)),
    Fixture("tap", 6.0, True, (1, 3), (96, 384), ((6, 23),)),
    Fixture("dishwasher", 0.5, False, (8, 14), (64, 160), ((19, 23),)),
    Fixture("washing machine", 0.6, False, (10, 20), (384, 640), ((8, 20),)),
)
# Early-morning sprinklers at 5-8 gpm: what trips Flume's "High Flow Alert".
IRRIGATION = Fixture("irrigation", 1.0, False, (15, 40), (1280, 2048), ((4, 6),))
# Chance of watering on a day, by month (northern-hemisphere season; kept under 2/3 so a
# day never waters twice, see _count).
IRRIGATION_SEASON = (0.05, 0.05, 0.1, 0.3, 0.45, 0.6, 0.65, 0.65, 0.5, 0.3, 0.1, 0.05)


class Event(NamedTuple):
    """One use of water: [start, end) in UTC epoch minutes at a constant rate."""

    kind: str
    start: int
    end: int
    rate: int  # units per minute


class Steps(NamedTuple):
    """A day's volume as a step function of the total rate."""

    breaks: list[float]  # where the total rate changes; breaks[0] is the day's start
    rates: list[int]  # units per minute from breaks[i]
    cum: list[float]  # units used from the day's start to breaks[i]


class Day:
    """One local day of a sensor: its events, total, and volume at any instant."""

    __slots__ = ("_steps", "end", "events", "start", "total")

    def __init__(self, start: float, end: float, events: tuple[Event, ...]) -> None:
        self.start = start  # epoch minutes of local midnight
        self.end = end  # epoch minutes of the next local midnight
        self.events = events
        self.total = sum(e.rate * (e.end - e.start) for e in events)
        # Built on first use: a query over whole days only needs totals.
        self._steps: Steps | None = None

    def volume_at(self, minute: float) -> float:
        """Units used from the day's start to `minute` (within the day)."""
        if minute <= self.start:
            return 0
        if minute >= self.end:
            return self.total
        steps = self._steps or self._build()
        i = bisect_right(steps.breaks, minute) - 1
        return steps.cum[i] + steps.rates[i] * (minute - steps.breaks[i])

    def _build(self) -> Steps:
        changes = sorted(
            [(e.start, e.rate) for e in self.events]
            + [(e.end, -e.rate) for e in self.events]
        )
        steps = Steps([self.start], [0], [0.0])
        for minute, delta in changes:
            if minute != steps.breaks[-1]:
                steps.cum.append(
                    steps.cum[-1] + steps.rates[-1] * (minute - steps.breaks[-1])
                )
                steps.breaks.append(minute)
                steps.rates.append(steps.rates[-1])
            steps.rates[-1] += delta
        self._steps = steps
        return steps


@dataclass(frozen=True, slots=True)
class Household:
    """The water use behind one sensor, in its location's time zone."""

    seed: int
    device_id: str
    tz: str

    def day(self, when: date) -> Day:
        """The sensor's local day `when`."""
        return generate_day(self.seed, self.device_id, self.tz, when)

    def days_from(self, minute: float) -> Iterator[Day]:
        """Consecutive local days, starting with the one containing `minute`."""
        when = to_local(minute, ZoneInfo(self.tz)).date()
        while True:
            yield self.day(when)
            when += timedelta(days=1)

    def events(self, since: float, until: float) -> Iterator[Event]:
        """Events that start in [since, until), in day order."""
        for day in self.days_from(since):
            if day.start >= until:
                return
            yield from (e for e in day.events if since <= e.start < until)


@functools.lru_cache(maxsize=DAY_CACHE_SIZE)
def generate_day(seed: int, device_id: str, tz: str, when: date) -> Day:
    """Draw one local day of events; a pure function of its arguments (cached)."""
    zone = ZoneInfo(tz)
    midnight = datetime(when.year, when.month, when.day)  # noqa: DTZ001 (local wall time)
    start = local_to_minutes(midnight, zone)
    end = local_to_minutes(midnight + timedelta(days=1), zone)
    to_utc = _clock_of_day(midnight, zone, start, end)
    rng = random.Random(derive(seed, device_id, when.isoformat()))  # noqa: S311 (a simulation)
    residents = 1 + derive(seed, device_id, "residents") % 5
    events = []
    for fixture, mean in _means(residents, when):
        for _ in range(_count(rng, mean)):
            first, stop = to_utc(_draw_local_minute(rng, fixture))
            events.append(_draw(rng, fixture, max(math.ceil(start), first), stop))
    return Day(start, end, tuple(events))


def _clock_of_day(
    midnight: datetime, zone: ZoneInfo, start: float, end: float
) -> Callable[[int], tuple[int, int]]:
    """Map a local minute of the day to (UTC minute, last UTC minute of the day)."""
    last = math.floor(end)
    if end - start == MINUTES_PER_DAY and start == int(start):
        # No offset change today: skip zoneinfo, the hot path of a year-long query.
        return lambda minute: (int(start) + minute, last)

    def convert(minute: int) -> tuple[int, int]:
        local = midnight + timedelta(minutes=minute)
        return math.floor(local_to_minutes(local, zone)), last

    return convert


def _means(residents: int, when: date) -> Iterator[tuple[Fixture, float]]:
    for fixture in FIXTURES:
        yield fixture, fixture.per_day * (residents if fixture.per_resident else 1)
    yield IRRIGATION, IRRIGATION.per_day * IRRIGATION_SEASON[when.month - 1]


def _count(rng: random.Random, mean: float) -> int:
    # Spread 0.5..1.5 around the mean; for mean < 2/3 this is at most 1.
    return math.floor(mean * (0.5 + rng.random()) + rng.random())


def _pick(rng: random.Random, low: int, high: int) -> int:
    # random() is a single C call; randint is several Python frames, and a year of
    # days draws ~40,000 numbers.
    return low + int(rng.random() * (high - low + 1))


def _draw_local_minute(rng: random.Random, fixture: Fixture) -> int:
    first, last = fixture.windows[int(rng.random() * len(fixture.windows))]
    return _pick(rng, first * 60, last * 60 - 1)


def _draw(rng: random.Random, fixture: Fixture, start: int, last: int) -> Event:
    # Clipped to whole UTC minutes inside the day, so days never overlap.
    end = min(last, start + _pick(rng, *fixture.minutes))
    return Event(fixture.name, start, max(start, end), _pick(rng, *fixture.rate))

"""Bucket edges: calendar alignment in local time, real-time steps for MIN and HR."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bridge.simulator.timebase import local_to_minutes, to_local, to_minutes


def bucket_edges(
    bucket: str, group: int, since: float, until: float, zone: ZoneInfo
) -> list[float]:
    """Starts of the buckets holding `since` through `until`, then the last end."""
    if bucket in REAL_TIME_STEPS:
        return _real_time_edges(bucket, group, since, until, zone)
    return _calendar_edges(bucket, group, since, until, zone)


def _minute_start(since: float, _zone: ZoneInfo) -> float:
    return math.floor(since)


def _hour_start(since: float, zone: ZoneInfo) -> float:
    return to_minutes(to_local(since, zone).replace(minute=0, second=0, microsecond=0))


# Real minutes per base bucket, and where the bucket holding an instant starts.
REAL_TIME_STEPS: dict[str, tuple[int, Callable[[float, ZoneInfo], float]]] = {
    "MIN": (1, _minute_start),
    "HR": (60, _hour_start),
}


def _real_time_edges(
    bucket: str, group: int, since: float, until: float, zone: ZoneInfo
) -> list[float]:
    minutes, align = REAL_TIME_STEPS[bucket]
    step = minutes * group
    first = align(since, zone)
    count = math.floor((until - first) / step) + 1
    return [first + k * step for k in range(count + 1)]


def _add_months(day: date, months: int) -> date:
    years, month = divmod(day.month - 1 + months, 12)
    return day.replace(year=day.year + years, month=month + 1)


def add_years(when: datetime, years: int) -> datetime:
    """The same local time `years` later; 29 February becomes 28 February."""
    try:
        return when.replace(year=when.year + years)
    except ValueError:  # 29 February in a common year
        return when.replace(year=when.year + years, day=28)


# Where the bucket holding a local date starts, and how to step N buckets on.
CALENDAR_STEPS: dict[
    str, tuple[Callable[[date], date], Callable[[date, int], date]]
] = {
    "DAY": (lambda day: day, lambda day, n: day + timedelta(days=n)),
    "MON": (lambda day: day.replace(day=1), _add_months),
    "YR": (
        lambda day: day.replace(month=1, day=1),
        lambda day, n: day.replace(year=day.year + n),
    ),
}


def _calendar_edges(
    bucket: str, group: int, since: float, until: float, zone: ZoneInfo
) -> list[float]:
    align, step = CALENDAR_STEPS[bucket]
    first = align(to_local(since, zone).date())
    edges = [_midnight(first, zone)]
    k = 0
    while edges[-1] <= until:
        k += group
        edges.append(_midnight(step(first, k), zone))
    return edges


def _midnight(day: date, zone: ZoneInfo) -> float:
    return local_to_minutes(datetime(day.year, day.month, day.day), zone)  # noqa: DTZ001 (local wall time)

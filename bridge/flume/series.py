"""One query of the batch: a MIN series or HR buckets, in Flume's local wall times.

Flume reads query times as naive local wall times in the location's zone; a repeated
fall-back time means its first occurrence (our reading, shared with the simulator;
bridge/simulator/query.py), so a series may start earlier than asked, and the
surplus buckets are dropped when read (bridge.flume.buckets). A MIN series longer
than the dialect's hours is asked for in parts `name`, `name#2` ..., cut where both
wall times around the cut are unambiguous. bridge.flume.windows puts the batch
together from these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bridge.flume.dialect import Dialect

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DOCUMENTED = Dialect()
PART = "#"  # request_id of a series' later parts: name#2, name#3 ...


@dataclass(frozen=True, slots=True)
class Window:
    """One query of the batch and the UTC span [start, end) its value covers."""

    request_id: str
    start: datetime  # aware UTC, inclusive
    end: datetime  # aware UTC, exclusive: the start of the current minute
    query: dict[str, object]  # the payload item
    tz: str
    # Series windows: where the first bucket Flume returns starts, and its length in
    # minutes. Calendar windows are summed by Flume: first_bucket None, step 0.
    first_bucket: datetime | None = None
    step: int = 0

    @property
    def field(self) -> str:
        """The value this window (or part of one) is for: its request_id's stem."""
        return self.request_id.split(PART, maxsplit=1)[0]


def hour_start(instant: datetime, zone: ZoneInfo) -> datetime:
    """The start of the local hour holding `instant` (the same one, on a repeat)."""
    local = instant.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    return local.astimezone(UTC)


def next_hour(start: datetime, zone: ZoneInfo) -> datetime:
    """The first start of a local hour at or after `start` (a whole minute)."""
    minute = start.astimezone(zone).minute
    return start + ((60 - minute) % 60) * MINUTE


def hour_buckets(
    name: str, start: datetime, end: datetime, zone: ZoneInfo, dialect: Dialect
) -> Window:
    """HR buckets over [start, end), whole local hours: no MIN limit applies."""
    since = wall_of(start, zone)
    query: dict[str, object] = {
        "request_id": name,
        "bucket": "HR",
        "since_datetime": since,
        **_order(dialect),
        "units": "GALLONS",
    }
    _name_last(query, end, zone)
    return Window(name, start, end, query, zone.key, instant_of(since, zone), 60)


def series(
    name: str,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    step: int,
    dialect: Dialect,
) -> tuple[Window, ...]:
    """A MIN series over [start, end), in parts of at most the dialect's hours."""
    if start >= end:
        return ()
    limit = dialect.max_min_hours * HOUR
    parts: list[Window] = []
    while True:
        label = name if not parts else f"{name}{PART}{len(parts) + 1}"
        part = _trailing(label, start, end, zone, step, dialect)
        first = part.first_bucket or start
        if end - first <= limit:
            return (*parts, part)
        cut = _cut(first, first + limit, part.step, zone)
        if cut <= start:  # no safe cut: ask for it whole, the server may refuse
            return (*parts, part)
        parts.append(_trailing(label, start, cut, zone, step, dialect))
        start = cut


def _cut(first: datetime, latest: datetime, step: int, zone: ZoneInfo) -> datetime:
    """The latest bucket edge by `latest` that parts a series exactly.

    Its wall time and the minute's before must each name one instant.
    """
    group = step * MINUTE
    cut = first + ((latest - first) // group) * group
    while cut > first and not (_exact(cut, zone) and _exact(cut - MINUTE, zone)):
        cut -= group
    return cut


def _exact(instant: datetime, zone: ZoneInfo) -> bool:
    return instant_of(wall_of(instant, zone), zone) == instant


def _order(dialect: Dialect) -> dict[str, object]:
    return {"sort_direction": "ASC"} if dialect.sorting else {}


def _name_last(query: dict[str, object], end: datetime, zone: ZoneInfo) -> None:
    """Name the window's last minute as `until`, unless its wall time repeats."""
    last = end - MINUTE
    if _exact(last, zone):
        query["until_datetime"] = wall_of(last, zone)


def _trailing(
    name: str,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    step: int,
    dialect: Dialect = DOCUMENTED,
) -> Window:
    since = wall_of(start, zone)
    first = instant_of(since, zone)  # earlier than `start` when its wall time repeats
    # The surplus before `start` must fill whole buckets, so they can be dropped, and
    # so must the window (a part after a half-hour fall-back, Lord Howe's, is 30 min).
    minutes = (int((start - first) / MINUTE), int((end - first) / MINUTE))
    group = math.gcd(step, *minutes) if dialect.grouping else 1
    query: dict[str, object] = {
        "request_id": name,
        "bucket": "MIN",
        "since_datetime": since,
        "group_multiplier": group,
        **_order(dialect),
        "units": "GALLONS",
    }
    if not dialect.grouping:
        del query["group_multiplier"]  # the server ignores it: one bucket a minute
    _name_last(query, end, zone)
    return Window(name, start, end, query, zone.key, first, group)


def wall_of(instant: datetime, zone: ZoneInfo) -> str:
    """Flume's naive local "YYYY-MM-DD HH:MM:SS" of an instant."""
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def instant_of(wall: str, zone: ZoneInfo) -> datetime:
    """The UTC instant Flume reads a wall time as: the first occurrence (fold=0)."""
    # Our own wall_of text, so fromisoformat reads it (strptime is twenty times slower).
    naive = datetime.fromisoformat(wall)
    return naive.replace(tzinfo=zone).astimezone(UTC)

"""Query windows: the batched usage query for a moment and a zone, and what it covers.

Flume reads query times as naive local wall times in the location's zone and answers
whole buckets, from the one holding `since_datetime` through the one holding
`until_datetime`; a repeated fall-back time means its first occurrence (our reading,
shared with the simulator; bridge/simulator/query.py). Every window ends at the start
of the current minute `end`, so it holds complete minutes only:

- `minutes`, `last_60_min`, `last_24_hours` (trailing): MIN buckets from `end - n`
  through the minute before `end`, as a series (1-minute buckets for `minutes`,
  60-minute groups for the others) that the client sums itself. In the hour after a
  fall-back, the start's wall time names the hour before, so the series starts that
  much earlier and the surplus buckets are dropped by position; a last minute whose
  wall time is ambiguous is not named at all (until = now), and the bucket in progress
  is dropped likewise.
- `backfill` (only for a meter that is behind): when the minute the meter has counted
  through is older than `end - 1440 min`, MIN buckets in 60-minute groups from that
  minute, whole hours up to the `minutes` series (or at most BACKFILL_HOURS), so a
  long outage is caught up over a few cycles, each still one request.
- `today`, `this_week` (Monday), `this_month`, `this_year` (calendar): one SUM from
  the period's local midnight to `end`, over DAY, DAY, MON and YR buckets; 23- and
  25-hour days come out right because the buckets follow local midnights.

`Window.start`/`end` give each window's exact UTC span, for `/_sim/truth` and the meter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bridge.errors import FlumeProtocolError
from bridge.models import Point

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
MAX_MINUTES = 1440  # the longest `minutes` series
BACKFILL_HOURS = 744  # 31 days per batch: one month's outage in one request
GROUP = 60  # minutes per bucket of the long trailing windows (Flume allows <= 100)
TRAILING = (  # request_id, minutes back from `end`, minutes per bucket
    ("last_60_min", 60, GROUP),
    ("last_24_hours", 24 * 60, GROUP),
)
CALENDAR: tuple[tuple[str, str, Callable[[date], date]], ...] = (
    ("today", "DAY", lambda day: day),
    ("this_week", "DAY", lambda day: day - timedelta(days=day.weekday())),
    ("this_month", "MON", lambda day: day.replace(day=1)),
    ("this_year", "YR", lambda day: day.replace(month=1, day=1)),
)


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


def usage_windows(
    now: datetime,
    tz: str,
    *,
    minutes: int = 15,
    counted_through: datetime | None = None,
) -> tuple[Window, ...]:
    """Every window of the batched usage query at `now` in the zone `tz`.

    Args:
        now: the current instant (aware).
        tz: the location's IANA zone.
        minutes: how many complete minutes the `minutes` series holds (1..1440).
        counted_through: the minute the meter has counted up to (aware, whole
            minute); the `minutes` series reaches back to it (up to 1440 minutes)
            and a `backfill` window covers what lies before that.
    """
    if now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {now.isoformat()}")
    if not 1 <= minutes <= MAX_MINUTES:
        raise ValueError(f"minutes must be 1..{MAX_MINUTES}, got {minutes}")
    _check_minute(counted_through)
    zone = ZoneInfo(tz)
    end = now.astimezone(UTC).replace(second=0, microsecond=0)
    today = end.astimezone(zone).date()
    trailing = (("minutes", _reach(minutes, end, counted_through), 1), *TRAILING)
    return (
        *(
            _trailing(name, end - n * MINUTE, end, zone, step)
            for name, n, step in trailing
        ),
        *(
            _calendar(name, bucket, first(today), end, zone)
            for name, bucket, first in CALENDAR
        ),
        *_backfill(counted_through, end, zone),
    )


def queries(windows: Sequence[Window]) -> list[dict[str, object]]:
    """The `queries` list of the batched request."""
    return [window.query for window in windows]


def value(window: Window, points: Sequence[Point]) -> float:
    """Gallons in the window, from Flume's answer to its query.

    Raises:
        FlumeProtocolError: the answer does not have the shape the query asks for.
    """
    if window.first_bucket is None:
        if len(points) > 1:
            raise FlumeProtocolError(
                f"query {window.request_id}: a SUM came back as {len(points)} values"
            )
        return points[0].value if points else 0.0
    return math.fsum(gallons for _, gallons in buckets(window, points))


def buckets(window: Window, points: Sequence[Point]) -> list[tuple[datetime, float]]:
    """A series window's buckets inside [start, end): (UTC start, gallons).

    Buckets are placed by position from `first_bucket`, as Flume returns them (ASC,
    one per step); a labelled bucket must carry the wall time of that start.

    Raises:
        FlumeProtocolError: a bucket's label does not match its position.
    """
    if window.first_bucket is None:
        raise ValueError(f"{window.request_id} is summed by Flume, not a series")
    zone = ZoneInfo(window.tz)
    found = []
    for k, point in enumerate(points):
        start = window.first_bucket + k * window.step * MINUTE
        if point.datetime is not None and point.datetime != _wall(start, zone):
            raise FlumeProtocolError(
                f"query {window.request_id}: bucket {k} is labelled "
                f"{point.datetime!r}, expected {_wall(start, zone)!r}"
            )
        if window.start <= start < window.end:
            found.append((start, point.value))
    return found


def _check_minute(counted_through: datetime | None) -> None:
    if counted_through is None:
        return
    if counted_through.utcoffset() is None:
        raise ValueError(
            f"counted_through must be timezone-aware, got {counted_through}"
        )
    if counted_through.second or counted_through.microsecond:
        raise ValueError(
            f"counted_through must be a whole minute, got {counted_through}"
        )


def _reach(minutes: int, end: datetime, counted_through: datetime | None) -> int:
    """The `minutes` series' length: back to `counted_through`, within 1440."""
    if counted_through is None:
        return minutes
    behind = (end - counted_through) // MINUTE
    return min(MAX_MINUTES, max(minutes, behind))


def _backfill(
    counted_through: datetime | None, end: datetime, zone: ZoneInfo
) -> tuple[Window, ...]:
    """Whole hours from `counted_through` up to the `minutes` series, if behind."""
    if counted_through is None:
        return ()
    missing = end - MAX_MINUTES * MINUTE - counted_through
    if missing <= timedelta(0):
        return ()
    # Rounded up: the last hour may overlap the minutes series, never leave a gap.
    hours = min(BACKFILL_HOURS, -(-missing // HOUR))
    start = counted_through.astimezone(UTC)
    return (_trailing("backfill", start, start + hours * HOUR, zone, GROUP),)


def _trailing(
    name: str, start: datetime, end: datetime, zone: ZoneInfo, step: int
) -> Window:
    since = _wall(start, zone)
    first = _instant(since, zone)  # earlier than `start` when its wall time repeats
    # The surplus before `start` must fill whole buckets, so they can be dropped.
    group = math.gcd(step, int((start - first) / MINUTE))
    query: dict[str, object] = {
        "request_id": name,
        "bucket": "MIN",
        "since_datetime": since,
        "group_multiplier": group,
        "sort_direction": "ASC",
        "units": "GALLONS",
    }
    last = end - MINUTE
    if _instant(_wall(last, zone), zone) == last:
        query["until_datetime"] = _wall(last, zone)
    return Window(name, start, end, query, zone.key, first, group)


def _calendar(
    name: str, bucket: str, first_day: date, end: datetime, zone: ZoneInfo
) -> Window:
    since = first_day.isoformat() + " 00:00:00"
    query: dict[str, object] = {
        "request_id": name,
        "bucket": bucket,
        "since_datetime": since,
        # Any wall time of the current period names its last bucket; Flume counts
        # only water that has arrived, so the bucket in progress ends at `end`.
        "until_datetime": _wall(end, zone),
        "operation": "SUM",
        "units": "GALLONS",
    }
    return Window(name, _instant(since, zone), end, query, zone.key)


def _wall(instant: datetime, zone: ZoneInfo) -> str:
    """Flume's naive local "YYYY-MM-DD HH:MM:SS" of an instant."""
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _instant(wall: str, zone: ZoneInfo) -> datetime:
    """The UTC instant Flume reads a wall time as: the first occurrence (fold=0)."""
    naive = datetime.strptime(wall, "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 (local wall time)
    return naive.replace(tzinfo=zone).astimezone(UTC)

"""Query windows: the batched usage query for a moment and a zone, and what it covers.

Flume reads query times as naive local wall times in the location's zone and answers
whole buckets, from the one holding `since_datetime` through the one holding
`until_datetime`; a repeated fall-back time means its first occurrence (our reading,
shared with the simulator; bridge/simulator/query.py). Answers are read by
bridge.flume.buckets, each bucket placed by its label whatever the order and grouping;
what the server ignores is learnt (bridge.flume.dialect) and not asked for again.
Every window ends at the start of the current minute `end`, so it holds complete
minutes only:

- `minutes`, `last_60_min`, `last_24_hours` (trailing): MIN buckets from `end - n`
  through the minute before `end`, as a series (1-minute buckets for `minutes`,
  60-minute groups for the others) that the client sums itself. In the hour after a
  fall-back, the start's wall time names the hour before, so the series starts that
  much earlier and the surplus buckets are dropped; a last minute whose wall time is
  ambiguous is not named at all (until = now), and the bucket in progress is dropped
  likewise. A MIN series longer than the dialect's hours (24, flume-api.md §5.3; 25
  in the hour after a fall-back, from its surplus) is asked for in parts
  `name`, `name#2` ..., cut where both wall times around the cut are unambiguous.
- `minutes` reaches back to the start of the local hour holding the minute the meter
  counted through, and `recount` (HR buckets) holds the whole local hours from the
  one 24 hours back up to that hour: the meter compares them with what it counted
  and adds water that reached Flume late (bridge.meter.recount). It is left out when
  the meter is a day behind (the back-fill reads those hours), and when it would
  cost one more POST (a server taking fewer queries than the batch holds).
- `backfill_minutes` and `backfill` (only for a meter that is behind): when the
  minute the meter has counted through is older than `end - 1440 min`, MIN buckets
  from that minute to the next local hour, then HR buckets (no MIN limit applies),
  whole hours up to the `minutes` series or at most BACKFILL_HOURS from the counted
  minute, so a long outage is caught up over a few cycles, each still one request.
- `today`, `this_week` (Monday), `this_month`, `this_year` (calendar): one SUM from
  the period's local midnight to `end`, over DAY, DAY, MON and YR buckets; 23- and
  25-hour days come out right because the buckets follow local midnights.
- `yesterday`, `last_month` (closed periods): one SUM of the single DAY or MON
  bucket of the local day or month before the current one; asked only when the
  batch has room for them in the POSTs it takes anyway (not while a back-fill fills
  it), so they never cost a request of their own.

`Window.start`/`end` give each window's exact UTC span, for `/_sim/truth` and the meter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bridge.flume.dialect import Dialect
from bridge.flume.series import (
    DOCUMENTED,
    HOUR,
    MINUTE,
    PART,
    Window,
    hour_buckets,
    hour_start,
    instant_of,
    next_hour,
    series,
    wall_of,
)

__all__ = ["DOCUMENTED", "PART", "Window", "queries", "usage_windows"]

MAX_MINUTES = 1440  # the longest `minutes` series
RECOUNT = timedelta(hours=24)  # history read again for late data (DESIGN §4)
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
CLOSED: tuple[
    tuple[str, str, Callable[[date], date]], ...
] = (  # the period's first day
    ("yesterday", "DAY", lambda day: day - timedelta(days=1)),
    (
        "last_month",
        "MON",
        lambda day: (day.replace(day=1) - timedelta(days=1)).replace(day=1),
    ),
)


def usage_windows(
    now: datetime,
    tz: str,
    *,
    minutes: int = 15,
    counted_through: datetime | None = None,
    dialect: Dialect = DOCUMENTED,
) -> tuple[Window, ...]:
    """Every window of the batched usage query at `now` in the zone `tz`.

    Args:
        now: the current instant (aware).
        tz: the location's IANA zone.
        minutes: how many complete minutes the `minutes` series holds (1..1440).
        counted_through: the minute the meter has counted up to (aware, whole
            minute); the `minutes` series reaches back to it (up to 1440 minutes)
            and the back-fill windows cover what lies before that.
        dialect: how to ask this server (what it honours, its limits).
    """
    if now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {now.isoformat()}")
    if not 1 <= minutes <= MAX_MINUTES:
        raise ValueError(f"minutes must be 1..{MAX_MINUTES}, got {minutes}")
    _check_minute(counted_through)
    zone = ZoneInfo(tz)
    end = now.astimezone(UTC).replace(second=0, microsecond=0)
    today = end.astimezone(zone).date()
    reach = _reach(minutes, end, counted_through, zone)
    trailing = (("minutes", reach, 1), *TRAILING)
    windows = (
        *(
            part
            for name, n, step in trailing
            for part in series(name, end - n * MINUTE, end, zone, step, dialect)
        ),
        *(
            _calendar(name, bucket, first(today), end, zone)
            for name, bucket, first in CALENDAR
        ),
        *_backfill(counted_through, end, zone, dialect),
    )
    closed = tuple(
        _closed(name, bucket, first(today), zone) for name, bucket, first in CLOSED
    )
    if _posts(len(windows) + len(closed), dialect) == _posts(len(windows), dialect):
        windows = (*windows, *closed)  # closed periods wait for a batch with room
    recount = _recount(counted_through, end, zone, dialect)
    if _posts(len(windows) + len(recount), dialect) > _posts(len(windows), dialect):
        return windows  # the recount never costs a request either (issue 13)
    return (*windows, *recount)


def queries(windows: Sequence[Window]) -> list[dict[str, object]]:
    """The `queries` list of the batched request."""
    return [window.query for window in windows]


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


def _reach(
    minutes: int, end: datetime, counted_through: datetime | None, zone: ZoneInfo
) -> int:
    """The `minutes` series' length, within 1440, back to the local hour's start.

    The hour holding `counted_through`: its counted minutes are read again.
    """
    if counted_through is None:
        return minutes
    behind = (end - hour_start(counted_through, zone)) // MINUTE
    return min(MAX_MINUTES, max(minutes, behind))


def _recount(
    counted_through: datetime | None, end: datetime, zone: ZoneInfo, dialect: Dialect
) -> tuple[Window, ...]:
    """Whole local hours from the one holding `end - 24 h` to the counted minute's.

    HR buckets: one query of about 24 buckets (flume-api.md §4.2); none when the
    meter is so far behind that the back-fill reads these hours anyway.
    """
    if counted_through is None:
        return ()
    first = hour_start(end - RECOUNT, zone)
    last = hour_start(counted_through, zone)
    if last <= first:
        return ()
    return (hour_buckets("recount", first, last, zone, dialect),)


def _backfill(
    counted_through: datetime | None, end: datetime, zone: ZoneInfo, dialect: Dialect
) -> tuple[Window, ...]:
    """From `counted_through` up to the `minutes` series, if the meter is behind.

    Minutes to the next local hour, then whole HR buckets: HR has no 24-hour limit,
    and one HR query holds a month (flume-api.md §4.2: pyflume asks HR buckets).
    """
    if counted_through is None:
        return ()
    reach = end - MAX_MINUTES * MINUTE  # where the minutes series starts
    start = counted_through.astimezone(UTC)
    if start >= reach:
        return ()
    hour = next_hour(start, zone)
    head = series("backfill_minutes", start, hour, zone, 1, dialect)
    # Rounded up: the last hour may overlap the minutes series, never leave a gap.
    cap = BACKFILL_HOURS * HOUR - (hour - start)
    hours = min(cap // HOUR, -(-(reach - hour) // HOUR))
    if hours <= 0:
        return head
    return (*head, hour_buckets("backfill", hour, hour + hours * HOUR, zone, dialect))


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
        "until_datetime": wall_of(end, zone),
        "operation": "SUM",
        "units": "GALLONS",
    }
    return Window(name, instant_of(since, zone), end, query, zone.key)


def _closed(name: str, bucket: str, first_day: date, zone: ZoneInfo) -> Window:
    """The single DAY or MON bucket of a closed period that began on `first_day`."""
    since = first_day.isoformat() + " 00:00:00"
    after = first_day + timedelta(days=1)
    if bucket == "MON":
        after = (first_day + timedelta(days=31)).replace(day=1)
    query: dict[str, object] = {
        "request_id": name,
        "bucket": bucket,
        "since_datetime": since,
        # A wall time inside the period's last day: its bucket is the period's own,
        # whether Flume reads `until` as inclusive or not.
        "until_datetime": (after - timedelta(days=1)).isoformat() + " 23:59:00",
        "operation": "SUM",
        "units": "GALLONS",
    }
    end = instant_of(after.isoformat() + " 00:00:00", zone)
    return Window(name, instant_of(since, zone), end, query, zone.key)


def _posts(count: int, dialect: Dialect) -> int:
    """How many POSTs a batch of `count` queries takes."""
    return -(-count // dialect.max_queries)

"""The meter's recent hours: what it counted in each local hour, for late water.

Flume can receive minutes hours late (a Flume Bridge uploading what it buffered
during a Wi-Fi outage; flume-api.md §4.3 finds no source on how late): a minute the
meter counted as settled may read more later. The meter keeps, per device, the
gallons it counted in each local hour of the last KEEP hours (about 26 numbers, not
1440 minutes: the file is written every cycle). Each cycle's answer re-reads those
hours (whole hours as HR buckets, the hour in progress minute by minute); what an
hour reads beyond what was counted in it arrived late and is added once, after which
the hour holds the new sum. An hour that reads less was revised down by Flume:
logged at DEBUG, ignored, so `total` never falls. An hour whose counted part is not
known exactly (counted before the meter kept hours, or by a span across an hour's
edge) holds None and is never compared; the hour the count began in is compared
minute by minute from `since` only (its HR bucket holds water from before).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
# The windows re-read 24 hours back from a local hour's start: 25 hours at most,
# and a spare one.
KEEP = timedelta(hours=26)
# Gallons: float noise between an hour's sum and its minutes', not water.
EPSILON = 1e-9

Span = tuple[datetime, int, float]  # (UTC start, minutes, gallons), as bridge.meter
Hours = dict[datetime, float | None]  # local hour start (UTC) -> gallons counted


def hour_of(minute: datetime, zone: ZoneInfo) -> datetime:
    """The start (UTC) of the local hour holding `minute`; DST-aware."""
    local = minute.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    return local.astimezone(UTC)


@lru_cache(maxsize=64)  # the same 26 hours are re-read every cycle
def next_hour(start: datetime, zone: ZoneInfo) -> datetime:
    """The start of the local hour after the one starting at `start`."""
    # A 30-minute DST shift (Lord Howe) makes some local hours 30 or 90 minutes.
    for minutes in (30, 60, 90):
        candidate = start + minutes * MINUTE
        if hour_of(candidate, zone) == candidate:
            return candidate
    return start + 2 * HOUR


def revise(
    hours: Mapping[datetime, float | None],
    spans: Iterable[Span],
    counted: tuple[datetime, datetime],
    zone: ZoneInfo,
) -> tuple[Hours, float]:
    """The hours as this answer reads them, and the gallons that arrived late.

    Only the counted part of each hour, within `counted` (since, through), is
    compared: the hour the sensor was first seen in only minute by minute.
    """
    minutes, wholes = _values(spans, 1), _values(spans, 60)
    fresh: Hours = dict(hours)
    late = 0.0
    for start, kept in hours.items():
        now = None if kept is None else _reread(start, counted, minutes, wholes, zone)
        if kept is None or now is None:
            continue
        if now > kept + EPSILON:
            late += now - kept
            fresh[start] = now
        elif now < kept - EPSILON:
            log.debug(
                "Flume revised the hour from %s down by %.6f gallons; total keeps "
                "what it counted", start.isoformat(), kept - now,
            )  # fmt: skip
    return fresh, late


def record(
    hours: Hours, path: Iterable[Span], since: datetime, zone: ZoneInfo
) -> Hours:
    """`hours` with the newly counted spans added to the hours that hold them.

    An hour first met in its middle (not where the count began) was partly counted
    before it was kept: unknown.
    """
    kept = dict(hours)
    for start, minutes, gallons in path:
        first = hour_of(start, zone)
        last = hour_of(start + (minutes - 1) * MINUTE, zone)
        fresh = 0.0 if start in (first, since) else None
        counted = kept.get(first) if first in kept else fresh
        if first != last:  # its water cannot be told apart between the hours
            _forget(kept, first, last, zone)
            continue
        kept[first] = None if counted is None else counted + gallons
    return kept


def prune(hours: Hours, horizon: datetime) -> Hours:
    """The hours the windows still re-read at `horizon`."""
    oldest = horizon - KEEP
    return {start: gallons for start, gallons in hours.items() if start >= oldest}


def _forget(hours: Hours, first: datetime, last: datetime, zone: ZoneInfo) -> None:
    hour = first
    while hour <= last:
        hours[hour] = None
        hour = next_hour(hour, zone)


def _values(spans: Iterable[Span], length: int) -> dict[datetime, float]:
    """The spans of one length by start; a start read with two values is left out."""
    found: dict[datetime, float] = {}
    doubtful: set[datetime] = set()
    for start, minutes, gallons in spans:
        if minutes != length:
            continue
        if found.setdefault(start, gallons) != gallons:
            doubtful.add(start)
    return {start: gallons for start, gallons in found.items() if start not in doubtful}


def _reread(
    hour: datetime,
    counted: tuple[datetime, datetime],
    minutes: Mapping[datetime, float],
    wholes: Mapping[datetime, float],
    zone: ZoneInfo,
) -> float | None:
    """What the counted part of the hour from `hour` reads now, if this answer says."""
    after = next_hour(hour, zone)
    start, end = max(hour, counted[0]), min(after, counted[1])
    if end <= start:
        return None
    if (start, end) == (hour, after) == (hour, hour + HOUR) and hour in wholes:
        return wholes[hour]
    needed = [start + k * MINUTE for k in range((end - start) // MINUTE)]
    if all(minute in minutes for minute in needed):
        return math.fsum(minutes[minute] for minute in needed)
    return None

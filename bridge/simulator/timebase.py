"""Instants as UTC epoch minutes, and their local-time and wire formats."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"


def to_minutes(when: datetime) -> float:
    """Return the aware instant `when` as minutes since the epoch."""
    return (when - EPOCH) / timedelta(minutes=1)


def from_minutes(minutes: float) -> datetime:
    """Return the aware UTC datetime of an epoch-minute instant."""
    return EPOCH + timedelta(minutes=minutes)


def floor_minute(minutes: float) -> int:
    """Return the start of the minute containing `minutes`."""
    return math.floor(minutes)


def local_to_minutes(naive: datetime, tz: ZoneInfo) -> float:
    """Return the instant of a naive local time in `tz`.

    fold=0 reads a repeated fall-back time as its first occurrence and a time in the
    spring-forward gap with the offset from before the change.
    """
    return to_minutes(naive.replace(tzinfo=tz, fold=0))


def to_local(minutes: float, tz: ZoneInfo) -> datetime:
    """Return the aware local datetime of an epoch-minute instant."""
    return from_minutes(minutes).astimezone(tz)


def format_local(minutes: float, tz: ZoneInfo) -> str:
    """Format an instant as Flume's naive local "YYYY-MM-DD HH:MM:SS"."""
    # isoformat is several times faster than strftime, which a year of HR buckets feels.
    return to_local(minutes, tz).isoformat(" ", "seconds")[:19]


def parse_local(text: object) -> datetime | None:
    """Parse Flume's naive local "YYYY-MM-DD HH:MM:SS", or None if it isn't one."""
    if not isinstance(text, str):
        return None
    try:
        # Naive on purpose: the API's query times carry no zone; the caller applies it.
        return datetime.strptime(text, LOCAL_FORMAT)  # noqa: DTZ007
    except ValueError:
        return None


def format_utc(when: datetime) -> str:
    """Format an aware instant like Flume's records: 2025-05-22T02:07:38.000Z."""
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def is_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone known to this system."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True

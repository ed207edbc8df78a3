"""The meter file: each device's count and recent hours as JSON, read with suspicion.

Format 1: `{"format": 1, "devices": {id: {"since", "through", "gallons"}}, "hours":
{id: {local hour start: gallons or null}}}`. The hours came later; a reader that
does not know them ignores them, so the format stayed 1. Damaged hours are simply
not known (only late water of those hours is missed, never counted twice); a
damaged count makes the whole file unreadable (DAMAGE), for the meter to fall back.
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bridge.meter import recount

FORMAT = 1
# What a damaged or unreadable meter file raises on reading and parsing.
DAMAGE = (OSError, ValueError, TypeError, OverflowError, RecursionError)


@dataclass(frozen=True, slots=True)
class Reading:
    """A device's lifetime count."""

    gallons: float  # water counted from `since` to `through`
    since: datetime  # aware UTC, start of the minute the device was first seen
    through: datetime  # aware UTC, end of the newest counted minute


def read(path: Path) -> tuple[dict[str, Reading], dict[str, recount.Hours]]:
    """The counts and recent hours in a meter file.

    Raises:
        FileNotFoundError: there is none (or STATE_DIR is a file).
        DAMAGE: it is unreadable or not a meter file.
    """
    try:
        data = path.read_bytes()
    except NotADirectoryError as error:  # STATE_DIR is a file: nothing to read
        raise FileNotFoundError(str(error)) from error
    return _parse(data), _hours_of(data)


def floor(moment: datetime) -> datetime:
    """The start of the minute holding an aware `moment`, in UTC."""
    if moment.utcoffset() is None:
        raise ValueError(f"expected an aware time, got {moment.isoformat()}")
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def dump(readings: dict[str, Reading], hours: dict[str, recount.Hours]) -> bytes:
    """The meter file for these counts and recent hours."""
    devices = {
        device_id: {
            "since": reading.since.isoformat(),
            "through": reading.through.isoformat(),
            "gallons": reading.gallons,
        }
        for device_id, reading in sorted(readings.items())
    }
    recent = {
        device_id: {
            start.isoformat(): gallons for start, gallons in sorted(kept.items())
        }
        for device_id, kept in sorted(hours.items())
        if kept and device_id in readings
    }
    # The hours are an addition the format's readers before it ignore: format 1.
    document = {"format": FORMAT, "devices": devices, "hours": recent}
    # No indent: json's C encoder serves only unindented output (a tenth of a poll).
    return json.dumps(document).encode() + b"\n"


def _parse(data: bytes) -> dict[str, Reading]:
    """The readings of a meter file; ValueError or TypeError if it is not one."""
    document = json.loads(data)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"not a meter file of format {FORMAT}")
    devices = document.get("devices")
    if not isinstance(devices, dict):
        raise TypeError("no devices")
    return {str(device_id): _reading(item) for device_id, item in devices.items()}


def _hours_of(data: bytes) -> dict[str, recount.Hours]:
    """The recent hours of a sound meter file; damaged hours are simply not known.

    Without them only late water is missed, never counted twice.
    """
    recent = json.loads(data).get("hours")
    if not isinstance(recent, dict):
        return {}
    found = {}
    for device_id, kept in recent.items():
        with contextlib.suppress(*DAMAGE):
            found[str(device_id)] = _hours(kept)
    return found


def _hours(kept: object) -> recount.Hours:
    if not isinstance(kept, dict):
        raise TypeError("hours are not an object")
    return {_minute(start): _gallons(value) for start, value in kept.items()}


def _gallons(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{value!r} is not a number")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{value!r} gallons")
    return float(value)


def _reading(item: object) -> Reading:
    if not isinstance(item, dict):
        raise TypeError("a device entry is not an object")
    since, through = _minute(item.get("since")), _minute(item.get("through"))
    gallons = item.get("gallons")
    if isinstance(gallons, bool) or not isinstance(gallons, int | float):
        raise TypeError(f"gallons {gallons!r} is not a number")
    if not (math.isfinite(gallons) and gallons >= 0 and since <= through):
        raise ValueError(f"an impossible reading: {item!r}")
    return Reading(float(gallons), since, through)


def _minute(text: object) -> datetime:
    if not isinstance(text, str):
        raise TypeError(f"{text!r} is not a time")
    moment = datetime.fromisoformat(text)
    if moment.utcoffset() is None or floor(moment) != moment:
        raise ValueError(f"{text!r} is not an aware whole minute")
    return moment.astimezone(UTC)

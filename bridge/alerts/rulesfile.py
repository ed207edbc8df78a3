"""rules.json: the local rules' trackers as JSON, and back (ValueError when damaged)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bridge.alerts.rules import RULES, OpenSession, Tracker
from bridge.models import Session
from bridge.statefile import read_document, read_instant

FORMAT = 1


Fields = dict[str, object]  # one tracker as rules.json holds it


def encode(trackers: Mapping[str, Tracker]) -> bytes:
    """The JSON document of rules.json."""
    return encode_fields(fields_of(trackers))


def fields_of(trackers: Mapping[str, Tracker]) -> dict[str, Fields]:
    """Each tracker's fields as rules.json holds them, by device id."""
    return {device_id: _tracker(t) for device_id, t in sorted(trackers.items())}


def encode_fields(devices: Mapping[str, Fields]) -> bytes:
    """The JSON document of rules.json from `fields_of`."""
    # No indent: json's C encoder serves only unindented output.
    return json.dumps({"format": FORMAT, "devices": devices}).encode()


def decode(raw: bytes) -> dict[str, Tracker]:
    """Read rules.json; ValueError, KeyError or TypeError when it is not one."""
    _, devices = read_document(raw, FORMAT, "devices")
    return {str(device_id): _read(item) for device_id, item in devices.items()}


def _tracker(tracker: Tracker) -> Fields:
    open_session = tracker.session
    return {
        "through": tracker.through.isoformat(),
        "on": dict(tracker.on),
        "wet_streak": tracker.wet_streak,
        "high_streak": tracker.high_streak,
        "away": tracker.away,
        "session": None if open_session is None else _open(open_session),
        "last_session": _session(tracker.last_session),
    }


def _open(session: OpenSession) -> dict[str, object]:
    return {
        "start": session.start.isoformat(),
        "last_wet_end": session.last_wet_end.isoformat(),
        "gallons": session.gallons,
        "peak_gpm": session.peak_gpm,
        "dry": session.dry,
    }


def _session(session: Session | None) -> dict[str, object] | None:
    if session is None:
        return None
    return {
        "start": session.start.isoformat(),
        "end": session.end.isoformat(),
        "minutes": session.minutes,
        "volume": session.volume,
        "peak_flow": session.peak_flow,
        "average_flow": session.average_flow,
    }


def _read(item: Any) -> Tracker:
    on = item["on"]
    if not isinstance(on, dict) or set(on) != set(RULES):
        raise ValueError("on must name every rule")
    away = [_number(value) for value in item["away"]]
    found = item["session"]
    return Tracker(
        through=read_instant(item["through"]),
        on={rule: bool(on[rule]) for rule in RULES},
        wet_streak=_count(item["wet_streak"]),
        high_streak=_count(item["high_streak"]),
        away=away,
        session=None if found is None else _read_open(found),
        last_session=_read_session(item["last_session"]),
    )


def _read_open(item: Any) -> OpenSession:
    return OpenSession(
        read_instant(item["start"]),
        read_instant(item["last_wet_end"]),
        _number(item["gallons"]),
        _number(item["peak_gpm"]),
        _count(item["dry"]),
    )


def _read_session(item: Any) -> Session | None:
    if item is None:
        return None
    return Session(
        read_instant(item["start"]),
        read_instant(item["end"]),
        _count(item["minutes"]),
        _number(item["volume"]),
        _number(item["peak_flow"]),
        _number(item["average_flow"]),
    )


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{value!r} is not a number")
    if not 0 <= value < float("inf"):
        raise ValueError(f"{value!r} is not a volume")
    return float(value)


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"{value!r} is not a count")
    return value

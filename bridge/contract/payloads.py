"""The bridge's own MQTT messages: status, availability, states, events, diagnostics."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from bridge.contract.topics import Topics
from bridge.models import (
    BridgeState,
    Diagnostics,
    Event,
    Message,
    SensorState,
    Session,
    UnitSystem,
)

ONLINE: Final = b"online"
OFFLINE: Final = b"offline"
AWAY_ON: Final = b"ON"  # HA's switch defaults: payload_on and state_on
AWAY_OFF: Final = b"OFF"


def utc_text(moment: datetime | None) -> str | None:
    """An aware time as `2026-11-28T12:34:00Z` (whole seconds), None as None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: need an aware one")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_json(document: Mapping[str, object]) -> bytes:
    """UTF-8 JSON (so `m³` reads as is), in the order given; never NaN."""
    return json.dumps(document, ensure_ascii=False, allow_nan=False).encode()


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None  # unknown: JSON has no NaN, and a subscriber must not see one
    if isinstance(value, Session):  # a nested record: a state's last session
        return _document(value)
    return value


def _document(record: SensorState | BridgeState | Event | Session) -> dict[str, object]:
    """A record's fields in declaration order, times as UTC text."""
    # Field by field, not dataclasses.asdict: that deep-copies every value, a tenth
    # of a poll's CPU for records that hold only numbers, text, times and a Session.
    return {
        field.name: _plain(getattr(record, field.name))
        for field in dataclasses.fields(record)
    }


class Payloads:
    """The service's and devices' messages for one configuration (pure: no I/O)."""

    def __init__(self, topics: Topics, units: UnitSystem) -> None:
        self._topics = topics
        self._units = units

    def status(self, online: bool) -> Message:
        """`<base>/status`, retained: `online`, or `offline` (also the Last Will)."""
        return Message(self._topics.status, ONLINE if online else OFFLINE, retain=True)

    def availability(self, device_id: str, online: bool) -> Message:
        """`<base>/<id>/availability`, retained: device connected and data fresh."""
        topic = self._topics.device(device_id, "availability")
        return Message(topic, ONLINE if online else OFFLINE, retain=True)

    def state(self, state: SensorState | BridgeState) -> Message:
        """`<base>/<id>/state`, retained: the state JSON, fields in DESIGN's order.

        Raises:
            ValueError: a sensor state in other units than UNITS (HA would record
                the wrong unit's statistics), or a naive time.
        """
        units = (self._units.volume, self._units.flow)
        if isinstance(state, SensorState) and (state.unit, state.flow_unit) != units:
            raise ValueError(
                f"state of {state.device_id} is in {state.unit} and {state.flow_unit}, "
                f"UNITS is {units[0]} and {units[1]}"
            )
        topic = self._topics.device(state.device_id, "state")
        return Message(topic, to_json(_document(state)), retain=True)

    def away_mode(self, location_id: int, away: bool | None) -> Message:
        """`<base>/<location_id>/away_mode`, retained: Flume's away mode, ON/OFF.

        None: no sensor served there any more; the empty payload clears the topic.
        """
        topic = self._topics.away_mode(location_id)
        payload = b"" if away is None else AWAY_ON if away else AWAY_OFF
        return Message(topic, payload, retain=True)

    def event(self, device_id: str, event: Event) -> Message:
        """`<base>/<id>/event`, not retained: one new alert."""
        topic = self._topics.device(device_id, "event")
        session = self._units.session_of(event.session)
        document = _document(dataclasses.replace(event, session=session))
        # Flume's alerts keep their four fields; a rule adds `on`, a session `session`.
        for extra in ("on", "session"):
            if document[extra] is None:
                del document[extra]
        return Message(topic, to_json(document), retain=False)

    def diagnostics(self, diagnostics: Diagnostics) -> Message:
        """`<base>/diagnostics`, retained: version, plan, requests, errors, success."""
        document = {
            "version": diagnostics.version,
            "started_at": utc_text(diagnostics.started_at),
            "request_plan": {
                "requests_per_hour": diagnostics.requests_per_hour,
                **{f"{job}_interval": s for job, s in diagnostics.plan.items()},
            },
            "requests_last_hour": diagnostics.requests_last_hour,
            "last_error": diagnostics.last_error,
            "last_success": {
                device_id: utc_text(moment)
                for device_id, moment in diagnostics.last_success.items()
            },
            "flume_remaining": diagnostics.flume_remaining,
        }
        return Message(self._topics.diagnostics, to_json(document), retain=True)

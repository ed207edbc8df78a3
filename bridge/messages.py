"""Builders of the bridge's own MQTT messages: status, states, events, diagnostics."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

import bridge
from bridge import topics
from bridge.config import Settings
from bridge.entities import UNIT_SYSTEMS, UnitSystem
from bridge.models import (
    BridgeState,
    Device,
    Diagnostics,
    Event,
    Message,
    SensorState,
)

ONLINE: Final = {True: b"online", False: b"offline"}


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
    return value


def _document(record: SensorState | BridgeState | Event) -> dict[str, object]:
    """A record's fields in declaration order, times as UTC text."""
    return {name: _plain(value) for name, value in dataclasses.asdict(record).items()}


class Messages:
    """The service's and devices' messages for one configuration (pure: no I/O).

    Topics follow MQTT_BASE_TOPIC; volumes and flow follow UNITS.
    """

    def __init__(self, settings: Settings, version: str | None = None) -> None:
        self.settings = settings
        self.units: UnitSystem = UNIT_SYSTEMS[settings.units]
        self.version = version if version is not None else bridge.__version__

    def status_message(self, online: bool) -> Message:
        """`<base>/status`, retained: `online`, or `offline` (also the Last Will)."""
        return Message(topics.status_topic(self.settings), ONLINE[online], retain=True)

    def availability_message(self, device_id: str, online: bool) -> Message:
        """`<base>/<id>/availability`, retained: device connected and data fresh."""
        topic = topics.device_topic(self.settings, device_id, "availability")
        return Message(topic, ONLINE[online], retain=True)

    def state_message(self, state: SensorState | BridgeState) -> Message:
        """`<base>/<id>/state`, retained: the state JSON, fields in DESIGN's order.

        Raises:
            ValueError: a sensor state in other units than UNITS (HA would record
                the wrong unit's statistics), or a naive time.
        """
        if isinstance(state, SensorState) and (state.unit, state.flow_unit) != (
            self.units.volume,
            self.units.flow,
        ):
            raise ValueError(
                f"state of {state.device_id} is in {state.unit} and {state.flow_unit}, "
                f"UNITS is {self.units.volume} and {self.units.flow}"
            )
        topic = topics.device_topic(self.settings, state.device_id, "state")
        return Message(topic, to_json(_document(state)), retain=True)

    def event_message(self, device_id: str, event: Event) -> Message:
        """`<base>/<id>/event`, not retained: one new alert."""
        topic = topics.device_topic(self.settings, device_id, "event")
        return Message(topic, to_json(_document(event)), retain=False)

    def diagnostics_message(self, diagnostics: Diagnostics) -> Message:
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
        }
        return Message(topics.diagnostics_topic(self.settings), to_json(document), True)

    def sensor_state(self, device: Device, updated_at: datetime) -> SensorState:
        """What the device list tells of a sensor; usage fields stay None (unknown)."""
        battery = device.battery_level
        return SensorState(
            device_id=device.id,
            location=device.location.name if device.location else None,
            updated_at=updated_at,
            unit=self.units.volume,
            flow_unit=self.units.flow,
            low_battery=None if battery is None else battery == "low",
            battery_level=battery,
            connected=device.connected,
            last_seen=device.last_seen,
        )

    def device_state(self, device: Device, updated_at: datetime) -> Message:
        """The state message of any device: a sensor's or a Flume Bridge's."""
        if device.is_sensor:
            return self.state_message(self.sensor_state(device, updated_at))
        hub = BridgeState(device.id, device.connected, device.last_seen)
        return self.state_message(hub)

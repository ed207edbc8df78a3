"""Shared vocabulary: frozen, slotted dataclasses passed between the bridge's layers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

SENSOR = 2  # Flume device type of a water sensor
BRIDGE = 1  # Flume device type of the Flume Bridge hub


@dataclass(frozen=True, slots=True)
class Token:
    """An OAuth grant: the JWT access token, its refresh token and when it expires."""

    access_token: str
    refresh_token: str
    user_id: int
    # Aware UTC on our clock: receipt time plus the JWT's lifetime (`exp` - `iat`), so
    # a skewed host clock cannot make a fresh token look expired.
    expires_at: datetime
    issued_at: datetime | None = None  # aware UTC, our clock at receipt

    def __repr__(self) -> str:
        return (
            f"Token(user_id={self.user_id}, expires_at={self.expires_at.isoformat()})"
        )


@dataclass(frozen=True, slots=True)
class Location:
    """Where devices are installed; `tz` decides every query window."""

    id: int
    name: str
    tz: str
    away_mode: bool | None = None


@dataclass(frozen=True, slots=True)
class Device:
    """A Flume sensor (type 2) or bridge (type 1) as listed by the API."""

    id: str
    type: int
    location_id: int | None
    location: Location | None
    bridge_id: str | None = None
    connected: bool | None = None
    last_seen: datetime | None = None
    battery_level: str | None = None  # "low" | "medium" | "high"; absent on bridges
    product: str | None = None

    @property
    def is_sensor(self) -> bool:
        """Whether the device measures water."""
        return self.type == SENSOR


@dataclass(frozen=True, slots=True)
class Point:
    """One value of a query series; `datetime` is naive local time, absent for SUMs."""

    datetime: str | None
    value: float


@dataclass(frozen=True, slots=True)
class FlowReading:
    """The live flow of `query/active`: `gpm` is gallons per minute whatever UNITS."""

    active: bool
    gpm: float
    datetime: str | None = None  # naive local time of the reading, if given


@dataclass(frozen=True, slots=True)
class Notification:
    """A notification of the account (leak, high flow, battery, bridge, budget...)."""

    id: int
    created_at: datetime  # aware UTC
    device_id: str | None = None
    type: int | None = None  # bit flag: 1 usage alert, 2 budget, 4 general, 8, 16
    title: str | None = None
    message: str | None = None
    read: bool | None = None
    rule: str | None = None  # `extra.event_rule_name`, e.g. "High Flow Alert"
    connected: bool | None = None  # `extra.connected` of a heartbeat (type 8)


@dataclass(frozen=True, slots=True)
class UsageAlert:
    """A usage alert: a rule (Flume Smart Leak, High Flow, custom) that fired."""

    id: int
    triggered_at: datetime  # aware UTC
    device_id: str | None = None
    leak: bool | None = None  # `flume_leak`: Flume classed it as a leak
    rule: str | None = None  # `event_rule_name`


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT publish: what the publisher sends and what `discovery --json` shows."""

    topic: str
    payload: bytes
    retain: bool
    qos: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorState:
    """A water sensor's state: DESIGN §5's JSON, field for field and in its order.

    Volumes are in `unit` and flow in `flow_unit` (the UNITS choice); every value the
    bridge does not know is None (`null`), never a made-up zero. Times are aware UTC.
    """

    device_id: str
    location: str | None = None
    updated_at: datetime | None = None
    unit: str
    flow_unit: str
    flow_rate: float | None = None
    flowing: bool | None = None
    last_60_min: float | None = None
    last_24_hours: float | None = None
    today: float | None = None
    this_week: float | None = None
    this_month: float | None = None
    this_year: float | None = None
    total: float | None = None
    total_since: datetime | None = None
    total_through: datetime | None = None
    leak: bool | None = None
    high_flow: bool | None = None
    low_battery: bool | None = None
    battery_level: str | None = None
    connected: bool | None = None
    last_seen: datetime | None = None


@dataclass(frozen=True, slots=True)
class BridgeState:
    """A Flume Bridge hub's state (DESIGN §5: device type 1); times are aware UTC."""

    device_id: str
    connected: bool | None = None
    last_seen: datetime | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """A new alert for `flume/<device_id>/event`: leak, high_flow, low_battery ..."""

    type: str
    title: str | None
    message: str | None
    at: datetime  # aware UTC


@dataclass(frozen=True, slots=True)
class Diagnostics:
    """The service's health for `flume/diagnostics`; times are aware UTC."""

    version: str
    started_at: datetime
    requests_per_hour: int  # the budget
    plan: Mapping[str, int]  # job name ("usage", "leaks" ...) -> interval in seconds
    requests_last_hour: int | None = None
    last_error: str | None = None
    last_success: Mapping[str, datetime | None] = field(default_factory=dict)

"""Shared vocabulary: frozen, slotted dataclasses passed between the bridge's layers."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

SENSOR = 2  # Flume device type of a water sensor
BRIDGE = 1  # Flume device type of the Flume Bridge hub
LITERS_PER_GALLON: Final = 3.785411784  # the US gallon, which HA's `gal` assumes
CUBIC_FEET_PER_GALLON: Final = 231 / 1728  # a US gallon is 231 cubic inches


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


class Answer(dict[str, list[Point]]):
    """A batched query's answer: each readable series by request_id.

    `problems` names the series Flume sent but that cannot be read, and why: one
    window that cannot be read costs only its own field.
    """

    def __init__(
        self,
        series: Mapping[str, list[Point]] | None = None,
        problems: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(series or {})
        self.problems: dict[str, str] = dict(problems or {})


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


@dataclass(frozen=True, slots=True)
class Session:
    """A water-use session: contiguous minutes of flow (short dry gaps tolerated).

    Volumes and flows are in gallons from the local rules, in UNITS in a state or
    event (UnitSystem.session_of). Times are aware UTC minute bounds.
    """

    start: datetime
    end: datetime
    minutes: int
    volume: float
    peak_flow: float  # the wettest minute's volume: its flow per minute
    average_flow: float  # volume / minutes


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
    yesterday: float | None = None
    last_month: float | None = None
    total: float | None = None
    total_since: datetime | None = None
    total_through: datetime | None = None
    leak: bool | None = None
    high_flow: bool | None = None
    continuous_flow: bool | None = None
    sustained_flow: bool | None = None
    away_flow: bool | None = None
    last_session: Session | None = None
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
    on: bool | None = None  # a local rule's new value; None: not a rule's event
    session: Session | None = None  # a `session` event's session, in gallons


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
    flume_remaining: int | None = None  # of the account's hour, as Flume last said


@dataclass(frozen=True, slots=True)
class Usage:
    """One answered usage query of a sensor, in gallons (None: not known)."""

    updated_at: datetime  # the windows' end: the start of the current minute
    windows: Mapping[str, float]  # last_60_min, last_24_hours, today ... in gallons
    flow_gpm: float | None  # the newest settled minute's gallons
    total_gallons: float
    total_since: datetime
    total_through: datetime
    # The answer's spans (UTC start, minutes, gallons): the local rules read them.
    spans: tuple[tuple[datetime, int, float], ...] = ()


@dataclass(frozen=True, slots=True)
class UnitSystem:
    """One UNITS choice: HA's exact unit strings and the factors from Flume's gallons.

    Values are rounded to about 10 mL (per minute or hour for flow), below what a
    Flume sensor resolves, so the JSON carries no float noise; HA shows fewer digits.
    """

    volume: str  # for `unit` and the water entities
    flow: str  # for `flow_unit` and the flow-rate entity
    per_gallon: float
    per_gpm: float  # one gallon a minute in `flow`
    volume_decimals: int
    flow_decimals: int
    volume_display: int  # HA's suggested_display_precision
    flow_display: int

    def volume_of(self, gallons: float | None) -> float | None:
        """Gallons in this system's volume unit, rounded; None stays None."""
        return _scaled(gallons, self.per_gallon, self.volume_decimals)

    def flow_of(self, gpm: float | None) -> float | None:
        """Gallons a minute in this system's flow unit, rounded; None stays None."""
        return _scaled(gpm, self.per_gpm, self.flow_decimals)

    def session_of(self, session: Session | None) -> Session | None:
        """A session in gallons as this system's volumes and flows."""
        if session is None:
            return None
        volume, flow = self.volume_of, self.flow_of
        return Session(
            session.start,
            session.end,
            session.minutes,
            volume(session.volume) or 0.0,
            flow(session.peak_flow) or 0.0,
            flow(session.average_flow) or 0.0,
        )


def _scaled(value: float | None, factor: float, decimals: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None  # unknown is null in the JSON, never NaN (invalid JSON) or zero
    return round(value * factor, decimals) + 0.0  # + 0.0 turns -0.0 into 0.0


# Only strings HA accepts (peers.md §3.7); m³/h because m³/min arrived late in HA.
UNIT_SYSTEMS: Final[Mapping[str, UnitSystem]] = {
    "gallons": UnitSystem("gal", "gal/min", 1.0, 1.0, 3, 3, 1, 2),
    "liters": UnitSystem(
        "L", "L/min", LITERS_PER_GALLON, LITERS_PER_GALLON, 2, 2, 0, 1
    ),
    "cubic_feet": UnitSystem(
        "ft³", "ft³/min", CUBIC_FEET_PER_GALLON, CUBIC_FEET_PER_GALLON, 4, 4, 2, 3
    ),
    "cubic_meters": UnitSystem(
        "m³",
        "m³/h",
        LITERS_PER_GALLON / 1000,
        LITERS_PER_GALLON * 60 / 1000,
        5,
        4,
        3,
        3,
    ),
}

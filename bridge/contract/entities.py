"""Home Assistant vocabulary as data: the entity tables of each kind of device."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

Platform = Literal["sensor", "binary_sensor", "button", "switch"]
Source = Literal["state", "status", "diagnostics", "command", "away"]
Availability = Literal["device", "service", "none"]


@dataclass(frozen=True, slots=True)
class Entity:
    """One Home Assistant entity of a device, as discovery describes it."""

    key: str  # component id, unique_id suffix, and the JSON field it reads
    platform: Platform
    name: str
    device_class: str | None = None
    state_class: str | None = None
    unit: Literal["volume", "flow"] | None = None  # which unit of the UnitSystem
    category: Literal["diagnostic"] | None = None
    source: Source = "state"  # where the value comes from (a button: where it goes)
    json_key: str | None = None  # the JSON field it reads; None: a plain payload
    # "device": the service status and the device's availability, both needed;
    # "service": the status only, so connectivity and last seen can show a
    # disconnected device rather than going unavailable exactly when they matter;
    # "none": the service's status entity, which reports the status itself.
    availability: Availability = "device"
    extra: Mapping[str, object] = field(default_factory=dict)


# `{{ value_json.leak }}` renders true/false/null as True/False/None; HA's MQTT binary
# sensor maps "None" to unknown.
BINARY: Final[Mapping[str, object]] = {"payload_on": "True", "payload_off": "False"}


SESSION_VOLUME: Final = (
    "{{ value_json.last_session.volume if value_json.last_session else None }}"
)


def _volume(key: str, name: str, state_class: str | None) -> Entity:
    return Entity(
        key, "sensor", name, "water", state_class, unit="volume", json_key=key
    )


def _binary(key: str, name: str, device_class: str) -> Entity:
    return Entity(key, "binary_sensor", name, device_class, json_key=key, extra=BINARY)


SENSOR_ENTITIES: Final = (
    Entity(
        "flow_rate",
        "sensor",
        "Flow rate",
        "volume_flow_rate",
        "measurement",
        unit="flow",
        json_key="flow_rate",
    ),
    # The Energy dashboard's water sources: water + total_increasing in every UNITS.
    _volume("total", "Total", "total_increasing"),
    _volume("today", "Today", "total_increasing"),
    _volume("this_week", "This week", "total_increasing"),
    _volume("this_month", "This month", "total_increasing"),
    _volume("this_year", "This year", "total_increasing"),
    # Rolling windows go down as well as up: no state class, so no statistics resets.
    _volume("last_60_min", "Last 60 minutes", None),
    _volume("last_24_hours", "Last 24 hours", None),
    # Closed periods: facts that never change once known, not Energy sources.
    _volume("yesterday", "Yesterday", None),
    _volume("last_month", "Last month", None),
    _binary("leak", "Leak", "moisture"),
    _binary("high_flow", "High flow", "problem"),
    # The local rules: judged by the bridge over the counted minutes, they clear
    # when the water stops (Flume's `leak` and `high_flow` stay Flume's verdicts).
    _binary("continuous_flow", "Continuous flow", "moisture"),
    _binary("sustained_flow", "Sustained flow", "problem"),
    _binary("away_flow", "Water while away", "moisture"),
    Entity(
        "last_session_volume",
        "sensor",
        "Last session volume",
        "water",
        unit="volume",
        json_key="last_session",
        # `null` before the first session: render None (unknown), not an error.
        extra={"value_template": SESSION_VOLUME},
    ),
    _binary("low_battery", "Low battery", "battery"),
    # The location's away mode (`<base>/<location_id>/away_mode`), on the sensor's
    # device: HA has no location device, and the sensor is what a user looks at.
    Entity(
        "away_mode",
        "switch",
        "Away mode",
        source="away",
        extra={"payload_on": "ON", "payload_off": "OFF"},
    ),
    Entity(
        "battery_level",
        "sensor",
        "Battery level",
        "enum",
        json_key="battery_level",
        extra={"options": ["low", "medium", "high"]},
    ),
    Entity(
        "connected",
        "binary_sensor",
        "Connectivity",
        "connectivity",
        category="diagnostic",
        json_key="connected",
        availability="service",
        extra=BINARY,
    ),
    Entity(
        "last_seen",
        "sensor",
        "Last seen",
        "timestamp",
        category="diagnostic",
        json_key="last_seen",
        availability="service",
    ),
)

HUB_ENTITIES: Final = tuple(
    entity for entity in SENSOR_ENTITIES if entity.key in ("connected", "last_seen")
)

SERVICE_ENTITIES: Final = (
    Entity(
        "status",
        "binary_sensor",
        "Status",
        "connectivity",
        category="diagnostic",
        source="status",
        availability="none",
        extra={"payload_on": "online", "payload_off": "offline"},
    ),
    Entity(
        "requests_used",
        "sensor",
        "Flume requests in the last hour",
        state_class="measurement",
        category="diagnostic",
        source="diagnostics",
        json_key="requests_last_hour",
        availability="service",
        extra={"unit_of_measurement": "requests"},
    ),
    Entity("refresh", "button", "Refresh", source="command", availability="service"),
    Entity(
        "republish", "button", "Republish", source="command", availability="service"
    ),
)

"""A device's changing state (connectivity, battery, last_seen) and its API object."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bridge.simulator.account import BATTERY_LEVELS, BRIDGE, SENSOR, Device, derive
from bridge.simulator.timebase import format_utc

PRODUCT = "flume2"
# Keys each device type leaves out (flume-api.md §3.1: sensors alone have a battery and
# an orientation; supports_ap was seen on a bridge).
ABSENT = {BRIDGE: {"oriented", "battery_level"}, SENSOR: {"supports_ap"}}
LAST_SEEN_STEP = 20  # seconds between a connected device's check-ins


@dataclass(slots=True)
class DeviceState:
    """What control actions change about a device."""

    connected: bool
    battery_level: str | None  # None on bridges, which have no battery
    changed: datetime  # when `connected` last changed


def device_fields(
    device: Device,
    state: DeviceState,
    user_id: int,
    now: datetime,
    silent_since: datetime | None,
) -> dict[str, object]:
    """The device object of `GET /users/{uid}/devices[/{did}]` (API §3.1).

    `silent_since`: when an ongoing upload outage began, if one keeps the device from
    Flume; it then reads disconnected, last seen when the outage began.
    """
    seen = last_seen(now) if state.connected else state.changed
    if silent_since is not None:
        seen = min(seen, last_seen(silent_since))
    fields: dict[str, object] = {
        "id": device.id,
        "type": device.type,
        "location_id": device.location_id,
        "user_id": user_id,
        "bridge_id": device.bridge_id,
        "oriented": True,
        "last_seen": format_utc(seen),
        "connected": state.connected and silent_since is None,
        "battery_level": state.battery_level,
        "product": PRODUCT,
        "supports_ap": True,
    }
    return {k: v for k, v in fields.items() if k not in ABSENT[device.type]}


def initial_battery(seed: int, device: Device) -> str | None:
    """A sensor's battery at start; None for a bridge."""
    if not device.is_sensor:
        return None
    # "medium" or "high": a fresh account starts with no low-battery warning.
    return BATTERY_LEVELS[1 + derive(seed, device.id, "battery") % 2]


def last_seen(now: datetime) -> datetime:
    """The latest check-in at or before `now`."""
    stamp = now.timestamp()
    return datetime.fromtimestamp(stamp - stamp % LAST_SEEN_STEP, UTC)


def check_battery(device: Device, level: str | None) -> None:
    """Raise ValueError for a level that is not low/medium/high, or one on a bridge."""
    if level is not None and (not device.is_sensor or level not in BATTERY_LEVELS):
        raise ValueError(
            f"battery_level of {device.id} must be one of {', '.join(BATTERY_LEVELS)}"
            " (and only sensors have one)"
        )


def changes(
    state: DeviceState, connected: bool | None, battery: str | None
) -> list[str]:
    """The notices a change of state sends: (dis)connected, low battery."""
    found = []
    if connected is not None and connected != state.connected:
        found.append("connected" if connected else "disconnected")
    if battery == "low" and state.battery_level != "low":
        found.append("low battery")
    return found

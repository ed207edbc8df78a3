"""The board: what the service knows of each device, as states and availability."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bridge.alerts import Tracker
from bridge.models import (
    BRIDGE,
    BridgeState,
    Device,
    Location,
    SensorState,
    UnitSystem,
    Usage,
)

# A sensor is `offline` when its usage has not been read for this many usage
# intervals (and never sooner than STALE_MIN): one missed poll is not news.
STALE_INTERVALS = 3
STALE_MIN = timedelta(minutes=10)
TOTAL_EXTRA_DECIMALS = 3


@dataclass(slots=True)
class _Entry:
    device: Device
    usage: Usage | None = None
    leak: bool | None = None
    high_flow: bool | None = None
    rules: Tracker | None = None  # the local rules' values and the last session
    last_success: datetime | None = None  # our clock: the last answered usage query
    released: bool = False  # the state goes out before a usage answer
    unanswered: bool = False  # a usage poll failed, and none has answered yet


class Board:
    """Every device's latest facts, as states in UNITS with METER_OFFSET."""

    def __init__(self, units: UnitSystem, meter_offset: float) -> None:
        self._units = units
        self._offset = meter_offset
        self._entries: dict[str, _Entry] = {}
        self.listed = False  # whether a device list has been taken yet

    def devices(self) -> list[Device]:
        """The devices being served, in the account's order."""
        return [entry.device for entry in self._entries.values()]

    def sensors(self) -> list[Device]:
        """The water sensors being served."""
        return [device for device in self.devices() if device.is_sensor]

    def replace_devices(self, devices: Iterable[Device]) -> list[str]:
        """Take a fresh device list; return the ids of devices that left it."""
        fresh = {device.id: device for device in devices}
        gone = [device_id for device_id in self._entries if device_id not in fresh]
        entries = {}
        for device_id, device in fresh.items():
            entry = self._entries.get(device_id) or _Entry(device)
            entry.device = device
            entries[device_id] = entry
        self._entries = entries
        self.listed = True
        return gone

    def locations(self) -> dict[int, Location]:
        """The locations of the sensors served, by id."""
        return {
            device.location.id: device.location
            for device in self.sensors()
            if device.location is not None
        }

    def set_location(self, location: Location) -> None:
        """Take a location read afresh (its away mode) for every device there."""
        for entry in self._entries.values():
            if entry.device.location_id == location.id:
                entry.device = dataclasses.replace(entry.device, location=location)

    def device(self, device_id: str) -> Device | None:
        """The device with this id, if served."""
        entry = self._entries.get(device_id)
        return entry.device if entry else None

    def held(self, device_id: str) -> bool:
        """Whether a sensor's state waits for its first usage answer."""
        entry = self._entries[device_id]
        return entry.device.is_sensor and entry.usage is None and not entry.released

    def set_unanswered(self, device_id: str) -> None:
        """Record a usage poll that failed before any answered."""
        entry = self._entries[device_id]
        entry.unanswered = entry.usage is None

    def urgent(self, device_id: str) -> bool:
        """Whether an unanswered sensor has a leak, high flow or low battery to tell.

        Such news is worth more than the readings its state would lack.
        """
        entry = self._entries[device_id]
        low = entry.device.battery_level == "low"
        return entry.unanswered and bool(entry.leak or entry.high_flow or low)

    def release(self, device_id: str, count: Usage | None) -> None:
        """Let a sensor's state out before a usage answer, with the meter's count.

        The count is usage without an answer: the sensor is still not `online`.
        """
        entry = self._entries[device_id]
        entry.released = True
        entry.usage = entry.usage or count

    def set_usage(self, device_id: str, usage: Usage, at: datetime) -> None:
        """Record an answered usage query (at `at`, our clock)."""
        entry = self._entries[device_id]
        entry.usage = usage
        entry.last_success = at

    def set_leak(self, device_id: str, leak: bool) -> None:
        """Record what leaks/active said."""
        self._entries[device_id].leak = leak

    def set_high_flow(self, device_id: str, high_flow: bool | None) -> None:
        """Record whether a high-flow alert is current."""
        self._entries[device_id].high_flow = high_flow

    def set_rules(self, device_id: str, rules: Tracker | None) -> None:
        """Record what the local rules know of a sensor (None: nothing judged yet)."""
        self._entries[device_id].rules = rules

    def last_success(self) -> dict[str, datetime | None]:
        """Each sensor's last answered usage query, for diagnostics."""
        return {
            device_id: entry.last_success
            for device_id, entry in self._entries.items()
            if entry.device.is_sensor
        }

    def available(self, device_id: str, now: datetime, interval: float) -> bool:
        """Whether a sensor is `online`: connected, and its usage read lately."""
        entry = self._entries[device_id]
        if entry.device.connected is False or entry.last_success is None:
            return False
        stale = max(STALE_MIN, timedelta(seconds=STALE_INTERVALS * interval))
        return now - entry.last_success <= stale

    def state(self, device_id: str, now: datetime) -> SensorState | BridgeState | None:
        """The state to publish for a device (None for types without one)."""
        entry = self._entries[device_id]
        device = entry.device
        if device.type == BRIDGE:
            return BridgeState(device.id, device.connected, device.last_seen)
        if not device.is_sensor:
            return None
        return self._sensor_state(entry, now)

    def _sensor_state(self, entry: _Entry, now: datetime) -> SensorState:
        device, usage, units = entry.device, entry.usage, self._units
        battery = device.battery_level
        state = SensorState(
            device_id=device.id,
            location=device.location.name if device.location else None,
            updated_at=usage.updated_at if usage else now,
            unit=units.volume,
            flow_unit=units.flow,
            leak=entry.leak,
            high_flow=entry.high_flow,
            **self._rules(entry.rules),
            low_battery=None if battery is None else battery == "low",
            battery_level=battery,
            connected=device.connected,
            last_seen=device.last_seen,
        )
        return state if usage is None else self._with_usage(state, usage)

    def _rules(self, rules: Tracker | None) -> dict[str, Any]:
        """The local rules' fields of a state: null before the first judged minute."""
        if rules is None:
            return {}
        return {**rules.on, "last_session": self._units.session_of(rules.last_session)}

    def _with_usage(self, state: SensorState, usage: Usage) -> SensorState:
        volume = self._units.volume_of
        flow = self._units.flow_of(usage.flow_gpm)
        windows = usage.windows
        return dataclasses.replace(
            state,
            flow_rate=flow,
            flowing=None if flow is None else flow > 0,
            last_60_min=volume(windows.get("last_60_min")),
            last_24_hours=volume(windows.get("last_24_hours")),
            today=volume(windows.get("today")),
            this_week=volume(windows.get("this_week")),
            this_month=volume(windows.get("this_month")),
            this_year=volume(windows.get("this_year")),
            yesterday=volume(windows.get("yesterday")),
            last_month=volume(windows.get("last_month")),
            total=self.total(usage.total_gallons),
            total_since=usage.total_since,
            total_through=usage.total_through,
        )

    def total(self, gallons: float) -> float | None:
        """METER_OFFSET plus the counted water in UNITS; it never falls."""
        if not math.isfinite(gallons):
            return None
        counted = gallons * self._units.per_gallon
        # Three decimals finer than the other volumes: the counter is exact, and a
        # subscriber comparing it with a register or with Flume should see that.
        # Rounding a non-decreasing sum keeps it non-decreasing.
        decimals = self._units.volume_decimals + TOTAL_EXTRA_DECIMALS
        return round(self._offset + counted, decimals) + 0.0

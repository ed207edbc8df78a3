"""The simulator's model: a thread-safe façade over account, water and device state.

Bridges (type 1) carry no water: their truth is 0, their live flow idle, their leak
state false; only `query` refuses them, as a validation error.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bridge.simulator import alerts
from bridge.simulator.account import (
    BATTERY_LEVELS,
    BRIDGE,
    SENSOR,
    Account,
    Device,
    Location,
    SimConfig,
    derive,
)
from bridge.simulator.household import UNITS_PER_GALLON, Household
from bridge.simulator.query import QueryContext, QueryError, run_queries
from bridge.simulator.timebase import format_utc, to_minutes
from bridge.simulator.volume import Leak, cumulative, volume

PRODUCT = "flume2"
# Keys each device type leaves out (flume-api.md §3.1: sensors alone have a battery and
# an orientation; supports_ap was seen on a bridge).
ABSENT = {BRIDGE: {"oriented", "battery_level"}, SENSOR: {"supports_ap"}}
LAST_SEEN_STEP = 20  # seconds between a connected device's check-ins
DEMO_LEAK_RATE = 6  # units per minute, ~0.023 gpm: a dripping fixture
DEMO_LEAK_LEAD = 120  # minutes the demo leak has run when the clock starts
MINUTES_PER_DAY = 1440
# Control-action notifications are numbered above every alert-derived id.
NOTICE_ID_BASE = 2**40


@dataclass(slots=True)
class DeviceState:
    """What control actions change about a device."""

    connected: bool
    battery_level: str | None  # None on bridges, which have no battery
    changed: datetime  # when `connected` last changed


class Model:
    """The façade the HTTP layer uses; every answer derives from one truth."""

    def __init__(self, config: SimConfig, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.account = Account(config)
        self.now = clock
        self._lock = threading.Lock()
        start = clock()
        self._states = {
            d.id: DeviceState(True, _initial_battery(config.seed, d), start)
            for d in self.account.devices
        }
        self._leaks: dict[str, list[Leak]] = {d.id: [] for d in self.account.sensors}
        self._notices: list[dict[str, object]] = []
        self._households = {
            d.id: Household(config.seed, d.id, self.account.location_of(d).tz)
            for d in self.account.sensors
        }
        if config.leak:
            first = self.account.sensors[0].id
            begun = math.floor(to_minutes(start)) - DEMO_LEAK_LEAD
            self._leaks[first].append(Leak(begun, None, DEMO_LEAK_RATE))

    def device(self, device_id: str) -> Device | None:
        """Return the account's device with this id, or None."""
        return self.account.device(device_id)

    def location_json(self, location: Location) -> dict[str, object]:
        """The location object of `GET /users/{uid}/locations[/{lid}]`."""
        return self.account.location_json(location)

    def device_json(
        self, device: Device, *, location: bool, user: bool
    ) -> dict[str, object]:
        """The device object of `GET /users/{uid}/devices[/{did}]` (API §3.1)."""
        with self._lock:
            state = replace(self._states[device.id])
        seen = _last_seen(self.now()) if state.connected else state.changed
        fields: dict[str, object] = {
            "id": device.id,
            "type": device.type,
            "location_id": device.location_id,
            "user_id": self.account.user_id,
            "bridge_id": device.bridge_id,
            "oriented": True,
            "last_seen": format_utc(seen),
            "connected": state.connected,
            "battery_level": state.battery_level,
            "product": PRODUCT,
            "supports_ap": True,
        }
        data = {k: v for k, v in fields.items() if k not in ABSENT[device.type]}
        if location:
            data["location"] = self.location_json(self._location(device))
        if user:
            data["user"] = self.account.user
        return data

    def truth(self, device_id: str, since: datetime, until: datetime) -> float:
        """Exact gallons in [since, until) (aware instants), ignoring latency.

        Raises KeyError for an unknown device, ValueError for naive or reversed times.
        """
        device = self._known(device_id)
        start, stop = _minutes(since), _minutes(until)
        if stop < start:
            raise ValueError("until must not be before since")
        return self._gallons(device)(start, stop)

    def query(self, device: Device, body: object) -> dict[str, list[dict[str, object]]]:
        """Answer a `POST .../query` body; raises QueryError on validation failures."""
        if not device.is_sensor:
            raise QueryError([f"device {device.id} is not a water sensor"])
        household, leaks = self._households[device.id], self._leaks_of(device)

        def levels(instants: Sequence[float]) -> list[float]:
            return cumulative(household, leaks, instants)

        context = QueryContext(
            self._location(device).tz, self.now(), self.config.latency_minutes, levels
        )
        return run_queries(body, context)

    def active_flow(self, device: Device) -> dict[str, object]:
        """The `query/active` reading of a device: live gallons per minute."""
        return alerts.active_flow(
            self._gallons(device), self.now(), self._location(device)
        )

    def leak_active(self, device: Device) -> bool:
        """Whether `leaks/active` reports a leak on this device now."""
        return alerts.leak_active(self._leaks_of(device), to_minutes(self.now()))

    def usage_alerts(self) -> list[dict[str, object]]:
        """Every usage alert of the last `history_days`, in no particular order."""
        return [alerts.usage_alert_json(alert) for alert in self._alerts()]

    def notifications(self) -> list[dict[str, object]]:
        """Every notification: one per usage alert plus those of control actions."""
        user_id = self.account.user_id
        derived = [alerts.alert_notification_json(a, user_id) for a in self._alerts()]
        with self._lock:
            return derived + [dict(notice) for notice in self._notices]

    def set_device_state(
        self,
        device_id: str,
        *,
        connected: bool | None = None,
        battery_level: str | None = None,
    ) -> None:
        """Change a device's connectivity or battery, notifying as Flume would.

        Raises KeyError for an unknown device, ValueError for a battery level that is
        not low/medium/high or one set on a bridge.
        """
        device = self._known(device_id)
        _check_battery(device, battery_level)
        now = self.now()
        with self._lock:
            state = self._states[device_id]
            changes = _changes(state, connected, battery_level)
            if connected is not None and connected != state.connected:
                state.connected, state.changed = connected, now
            state.battery_level = battery_level or state.battery_level
            for change in changes:
                self._notify(change, device, now)

    def start_leak(self, device_id: str, gallons_per_minute: float) -> None:
        """Start a leak at the next whole minute; it replaces a running one.

        The rate is rounded to 1/256 gallon per minute. Raises KeyError for an unknown
        device and ValueError for a bridge or a rate that rounds to nothing.
        """
        device = self._known(device_id)
        rate = round(gallons_per_minute * UNITS_PER_GALLON)
        if not device.is_sensor or rate < 1:
            raise ValueError(
                f"cannot start a {gallons_per_minute} gpm leak on {device_id}"
            )
        start = math.ceil(to_minutes(self.now()))
        with self._lock:
            self._end_leak(device_id, start)
            self._leaks[device_id].append(Leak(start, None, rate))

    def stop_leak(self, device_id: str) -> None:
        """Stop a running leak at the end of the current minute (no-op if none runs)."""
        device = self._known(device_id)
        end = math.ceil(to_minutes(self.now()))
        with self._lock:
            if device.is_sensor:
                self._end_leak(device_id, end)

    def _end_leak(self, device_id: str, end: int) -> None:
        leaks = self._leaks[device_id]
        running = [leak for leak in leaks if leak.end is None]
        for leak in running:
            leaks.remove(leak)
            if leak.start < end:
                leaks.append(Leak(leak.start, end, leak.rate))

    def _notify(self, change: str, device: Device, at: datetime) -> None:
        nid = NOTICE_ID_BASE + len(self._notices)
        location = self._location(device)
        self._notices.append(
            alerts.state_notification_json(
                change, nid, device, location, self.account.user_id, at
            )
        )

    def _alerts(self) -> Iterator[alerts.Alert]:
        now = to_minutes(self.now())
        span = (now - self.config.history_days * MINUTES_PER_DAY, now)
        for device in self.account.sensors:
            location = self._location(device)
            household = self._households[device.id]
            yield from alerts.high_flow_alerts(household, device, location, span)
            yield from alerts.leak_alerts(
                self._leaks_of(device), device, location, span
            )

    def _gallons(self, device: Device) -> Callable[[float, float], float]:
        if not device.is_sensor:
            return lambda _since, _until: 0.0
        household, leaks = self._households[device.id], self._leaks_of(device)
        return lambda since, until: volume(household, leaks, since, until)

    def _leaks_of(self, device: Device) -> tuple[Leak, ...]:
        with self._lock:
            return tuple(self._leaks.get(device.id, ()))

    def _known(self, device_id: str) -> Device:
        device = self.account.device(device_id)
        if device is None:
            raise KeyError(device_id)
        return device

    def _location(self, device: Device) -> Location:
        return self.account.location_of(device)


def _initial_battery(seed: int, device: Device) -> str | None:
    if not device.is_sensor:
        return None
    # "medium" or "high": a fresh account starts with no low-battery warning.
    return BATTERY_LEVELS[1 + derive(seed, device.id, "battery") % 2]


def _last_seen(now: datetime) -> datetime:
    stamp = now.timestamp()
    return datetime.fromtimestamp(stamp - stamp % LAST_SEEN_STEP, UTC)


def _minutes(when: datetime) -> float:
    if when.utcoffset() is None:
        raise ValueError(f"{when.isoformat()} has no time zone")
    return to_minutes(when)


def _check_battery(device: Device, level: str | None) -> None:
    if level is not None and (not device.is_sensor or level not in BATTERY_LEVELS):
        raise ValueError(
            f"battery_level of {device.id} must be one of {', '.join(BATTERY_LEVELS)}"
            " (and only sensors have one)"
        )


def _changes(
    state: DeviceState, connected: bool | None, battery: str | None
) -> list[str]:
    changes = []
    if connected is not None and connected != state.connected:
        changes.append("connected" if connected else "disconnected")
    if battery == "low" and state.battery_level != "low":
        changes.append("low battery")
    return changes

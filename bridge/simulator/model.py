"""The simulator's model: a thread-safe façade over account, water and device state.

Bridges (type 1) carry no water: their truth is 0, their live flow idle, their leak
state false; only `query` refuses them, as a validation error.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime

from bridge.simulator import alerts
from bridge.simulator.account import Account, Device, Location, SimConfig
from bridge.simulator.behaviour import Behaviour
from bridge.simulator.devices import (
    DeviceState,
    check_battery,
    device_fields,
    initial_battery,
)
from bridge.simulator.devices import changes as state_changes
from bridge.simulator.household import UNITS_PER_GALLON, Household
from bridge.simulator.outages import (
    Outage,
    OutageBook,
    frozen_since,
    held_spans,
    merged_spans,
    outage,
    without_spans,
)
from bridge.simulator.query import QueryContext, QueryError, run_queries
from bridge.simulator.timebase import to_minutes
from bridge.simulator.volume import Leak, cumulative, volume

Use = tuple[str, int, int | None, int]  # kind, start, end (None: running), units/min

DEMO_LEAK_RATE = 6  # units per minute, ~0.023 gpm: a dripping fixture
DEMO_LEAK_LEAD = 120  # minutes the demo leak has run when the clock starts
MINUTES_PER_DAY = 1440
# Control-action notifications are numbered above every alert-derived id.
NOTICE_ID_BASE = 2**40


class Model:
    """The façade the HTTP layer uses; every answer derives from one truth."""

    def __init__(self, config: SimConfig, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.account = Account(config)
        self.now = clock
        self._lock = threading.Lock()
        start = clock()
        self._states = {
            d.id: DeviceState(True, initial_battery(config.seed, d), start)
            for d in self.account.devices
        }
        self._leaks: dict[str, list[Leak]] = {d.id: [] for d in self.account.sensors}
        self._notices: list[dict[str, object]] = []
        self._away = {location.id: False for location in self.account.locations}
        self._households = {
            d.id: Household(config.seed, d.id, self.account.location_of(d).tz)
            for d in self.account.sensors
        }
        self.outages = OutageBook(
            [
                outage(
                    self.account.sensors[o.sensor - 1].id,
                    to_minutes(o.since),
                    to_minutes(o.until),
                )
                for o in config.outages
            ]
        )
        if config.leak:
            first = self.account.sensors[0].id
            begun = math.floor(to_minutes(start)) - DEMO_LEAK_LEAD
            self._leaks[first].append(Leak(begun, None, DEMO_LEAK_RATE))

    def device(self, device_id: str) -> Device | None:
        """Return the account's device with this id, or None."""
        return self.account.device(device_id)

    def location_json(self, location: Location) -> dict[str, object]:
        """The location object of `GET /users/{uid}/locations[/{lid}]`."""
        with self._lock:
            away = self._away[location.id]
        return {**self.account.location_json(location), "away_mode": away}

    def set_away(self, location_id: int, away: bool) -> None:
        """Turn a location's away mode on or off (`PATCH .../locations/{lid}`)."""
        with self._lock:
            self._away[location_id] = away

    def device_json(
        self, device: Device, *, location: bool, user: bool
    ) -> dict[str, object]:
        """The device object of `GET /users/{uid}/devices[/{did}]` (API §3.1)."""
        with self._lock:
            state = replace(self._states[device.id])
        now = self.now()
        # An upload outage silences the Bridge and every sensor it carries for Flume.
        silent = frozen_since(self.outages.of(self.account.upload_path(device)), now)
        data = device_fields(device, state, self.account.user_id, now, silent)
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

    def uses(self, device_id: str, since: datetime, until: datetime) -> list[Use]:
        """The sensor's water uses (household events, leaks) overlapping [since, until).

        Household events last under an hour: those starting a day before are enough.
        """
        device, start, stop = self._known(device_id), _minutes(since), _minutes(until)
        household = self._households[device.id].events(start - 1440, stop)
        found: list[Use] = [(e.kind, e.start, e.end, e.rate) for e in household]
        found += [("leak", k.start, k.end, k.rate) for k in self._leaks_of(device)]
        overlapping = (
            u for u in found if u[1] < stop and (u[2] is None or u[2] > start)
        )
        return sorted(overlapping, key=lambda use: use[1])

    def query(
        self, device: Device, body: object, behaviour: Behaviour | None = None
    ) -> dict[str, list[dict[str, object]]]:
        """Answer a `POST .../query` body; raises QueryError on validation failures."""
        if not device.is_sensor:
            raise QueryError([f"device {device.id} is not a water sensor"])
        household, leaks = self._households[device.id], self._leaks_of(device)

        def levels(instants: Sequence[float]) -> list[float]:
            return cumulative(household, leaks, instants)

        now, latency = self.now(), self.config.latency_minutes
        held = held_spans(self.outages.of([device.id]), to_minutes(now), latency)
        context = QueryContext(
            self._location(device).tz,
            now,
            latency,
            without_spans(levels, held),
            self.config.behaviour if behaviour is None else behaviour,
        )
        return run_queries(body, context)

    def add_outage(
        self, device_id: str, since: datetime, until: datetime | None
    ) -> Outage:
        """Start holding back a sensor's minutes from `since` to `until` (None: open).

        Raises KeyError for an unknown device, ValueError for a bridge, naive times or
        an outage that ends before it starts.
        """
        device = self._known(device_id)
        if not device.is_sensor:
            raise ValueError(f"device {device_id} is not a water sensor")
        end = None if until is None else _minutes(until)
        item = outage(device_id, _minutes(since), end)
        self.outages.add(item)
        return item

    def release_outages(self, device_id: str) -> int:
        """End a sensor's open outages at the end of this minute; how many changed."""
        self._known(device_id)
        return self.outages.release(device_id, to_minutes(self.now()))

    def active_flow(self, device: Device) -> dict[str, object]:
        """The `query/active` reading of a device: live gallons per minute.

        During an upload outage Flume hears nothing from the sensor: no flow.
        """
        now = self.now()
        quiet = frozen_since(self.outages.of([device.id]), now) is not None
        gallons = _no_water if quiet else self._gallons(device)
        return alerts.active_flow(gallons, now, self._location(device))

    def leak_active(self, device: Device) -> bool:
        """Whether `leaks/active` reports a leak on this device now."""
        return alerts.leak_active(self._leaks_of(device), to_minutes(self.now()))

    def usage_alerts(self) -> list[dict[str, object]]:
        """Every usage alert of the last `history_days`, in no particular order."""
        return [alerts.usage_alert_json(alert) for alert in self._alerts()]

    def notifications(self) -> list[dict[str, object]]:
        """Every notification: usage alerts, outage edges and control actions."""
        user_id = self.account.user_id
        derived = [alerts.alert_notification_json(a, user_id) for a in self._alerts()]
        now = to_minutes(self.now())
        for bridge in self.account.bridges:
            spans = merged_spans(self.outages.of(self.account.upload_path(bridge)))
            location = self._location(bridge)
            derived += alerts.outage_notifications(
                bridge, location, user_id, spans, now
            )
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
        check_battery(device, battery_level)
        now = self.now()
        with self._lock:
            state = self._states[device_id]
            changes = state_changes(state, connected, battery_level)
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
            return _no_water
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


def _no_water(_since: float, _until: float) -> float:
    return 0.0


def _minutes(when: datetime) -> float:
    if when.utcoffset() is None:
        raise ValueError(f"{when.isoformat()} has no time zone")
    return to_minutes(when)

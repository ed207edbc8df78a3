"""What Flume derives from the water: leaks, usage alerts, notifications, live flow.

Our rules (Flume does not publish its own): a leak is active once it has run 30 minutes
and raises a "Flume Smart Leak Alert" after 60; an event of at least 4 gpm lasting 10
minutes raises a "High Flow Alert" 10 minutes after it starts. An alert's query shows
the 15 minutes ending one minute after the trigger, as in Flume's usage-alert example.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from bridge.simulator.account import Device, Location
from bridge.simulator.household import UNITS_PER_GALLON, Household
from bridge.simulator.timebase import (
    floor_minute,
    format_local,
    format_utc,
    from_minutes,
    to_minutes,
)
from bridge.simulator.volume import Leak

LEAK_ACTIVE_AFTER = 30  # minutes a leak runs before leaks/active says so
LEAK_ALERT_AFTER = 60
HIGH_FLOW_RATE = 4 * UNITS_PER_GALLON  # units per minute
HIGH_FLOW_AFTER = 10
ALERT_QUERY_MINUTES = 15
USAGE_ALERT = 1  # notification type bit
# Alert ids: trigger minute * ID_SLOTS + a slot per (device, kind), so ids are stable,
# unique and sort in trigger order.
ID_SLOTS = 128
# Outage notices are numbered above alert ids and control-action notices (2**40 on).
OUTAGE_NOTICE_BASE = 2**41


@dataclass(frozen=True, slots=True)
class Alert:
    """A usage alert: a sensor's high flow or leak, triggered at a whole UTC minute."""

    device: Device
    location: Location
    triggered: int  # epoch minutes
    leak: bool
    gpm: float

    @property
    def id(self) -> int:
        """A stable id, unique per device, kind and minute."""
        return self.triggered * ID_SLOTS + self.device.index * 2 + int(self.leak)

    @property
    def rule(self) -> str:
        """The event rule name Flume files the alert under."""
        return "Flume Smart Leak Alert" if self.leak else "High Flow Alert"


def leak_active(leaks: Iterable[Leak], now: float) -> bool:
    """Whether a leak is running at `now` and has been for LEAK_ACTIVE_AFTER minutes."""
    return any(
        leak.covers(now) and now - leak.start >= LEAK_ACTIVE_AFTER for leak in leaks
    )


def high_flow_alerts(
    household: Household, device: Device, location: Location, span: tuple[float, float]
) -> Iterator[Alert]:
    """High-flow alerts of a sensor triggered in the closed span [since, until]."""
    since, until = span
    for event in household.events(since - HIGH_FLOW_AFTER, until):
        triggered = event.start + HIGH_FLOW_AFTER
        long_enough = event.end - event.start >= HIGH_FLOW_AFTER
        if event.rate >= HIGH_FLOW_RATE and long_enough and triggered <= until:
            yield Alert(
                device, location, triggered, False, event.rate / UNITS_PER_GALLON
            )


def leak_alerts(
    leaks: Iterable[Leak], device: Device, location: Location, span: tuple[float, float]
) -> Iterator[Alert]:
    """Leak alerts of a sensor triggered in the closed span [since, until]."""
    since, until = span
    for leak in leaks:
        triggered = leak.start + LEAK_ALERT_AFTER
        lasted = leak.end is None or leak.end >= triggered
        if lasted and since <= triggered <= until:
            yield Alert(device, location, triggered, True, leak.rate / UNITS_PER_GALLON)


def alert_query(alert: Alert) -> dict[str, object]:
    """The system query Flume attaches to an alert: the flow around the trigger."""
    until = alert.triggered + 1
    zone = alert.location.zone
    return {
        "request_id": "SYSTEM_TRIGGERED_USAGE_ALERT",
        "since_datetime": format_local(until - ALERT_QUERY_MINUTES, zone),
        "until_datetime": format_local(until, zone),
        "tz": alert.location.tz,
        "bucket": "MIN",
        "device_id": [alert.device.id],
    }


def usage_alert_json(alert: Alert) -> dict[str, object]:
    """A record of `GET /users/{uid}/usage-alerts` (flume-api.md §3.7)."""
    return {
        "id": alert.id,
        "device_id": alert.device.id,
        "triggered_datetime": format_utc(from_minutes(alert.triggered)),
        "flume_leak": alert.leak,
        "query": alert_query(alert),
        "event_rule_name": alert.rule,
    }


def alert_notification_json(alert: Alert, user_id: int) -> dict[str, object]:
    """The type-1 notification Flume sends for a usage alert (flume-api.md §3.5)."""
    where = alert.location.name
    message = (
        f"Flume detected continuous water use at {where} that may be a leak."
        if alert.leak
        else f"Water at {where} has been flowing at {alert.gpm:.1f} gallons per minute"
        f" for over {HIGH_FLOW_AFTER} minutes."
    )
    extra = {
        "query": alert_query(alert),
        "event_rule_name": alert.rule,
        "advanced_low_flow": False,
    }
    return notification_json(
        (alert.id, alert.device.id, user_id),
        (USAGE_ALERT, alert.rule, message),
        from_minutes(alert.triggered),
        extra,
    )


def notification_json(
    ids: tuple[int, str, int],
    text: tuple[int, str, str],
    created: datetime,
    extra: dict[str, object],
) -> dict[str, object]:
    """A notification from (id, device_id, user_id) and (type, title, message)."""
    nid, device_id, user_id = ids
    kind, title, message = text
    return {
        "id": nid,
        "device_id": device_id,
        "user_id": user_id,
        "type": kind,
        "message": message,
        "created_datetime": format_utc(created),
        "title": title,
        "read": False,
        "extra": extra,
    }


def active_flow(
    gallons: Callable[[float, float], float], now: datetime, location: Location
) -> dict[str, object]:
    """The `query/active` reading: the last whole minute before now, without latency."""
    minute = floor_minute(to_minutes(now)) - 1
    gpm = gallons(minute, minute + 1)
    return {
        "active": gpm > 0,
        "gpm": gpm,
        "datetime": format_local(minute, location.zone),
    }


# What a change of device state tells the user: (type, event rule, title, message).
STATE_NOTICES: dict[str, tuple[int, str, str, str]] = {
    "disconnected": (
        8,
        "Bridge Disconnection",
        "Device Disconnected",
        "Your Flume device at {where} has lost its connection.",
    ),
    "connected": (
        8,
        "Bridge Disconnection",
        "Device Reconnected",
        "Your Flume device at {where} is connected again.",
    ),
    "low battery": (
        16,
        "Low Battery",
        "Low Battery",
        "The battery of your Flume sensor at {where} is low.",
    ),
}


def outage_notifications(
    bridge: Device,
    location: Location,
    user_id: int,
    spans: Iterable[tuple[int, int | None]],
    now: float,
) -> Iterator[dict[str, object]]:
    """A Bridge's heartbeat notices for its upload outages up to `now`.

    A Bridge that cannot upload is one Flume has lost: "Bridge Disconnection" when an
    outage starts, a reconnection when it ends (flume-api.md §3.5, type 8).
    """
    for start, end in spans:
        for change, minute in (("disconnected", start), ("connected", end)):
            if minute is not None and minute <= now:
                nid = OUTAGE_NOTICE_BASE + (minute * ID_SLOTS + bridge.index) * 2
                nid += change == "connected"
                at = from_minutes(minute)
                yield state_notification_json(
                    change, nid, bridge, location, user_id, at
                )


def state_notification_json(
    change: str,
    nid: int,
    device: Device,
    location: Location,
    user_id: int,
    at: datetime,
) -> dict[str, object]:
    """The notification for a device state change (a key of STATE_NOTICES)."""
    kind, rule, title, message = STATE_NOTICES[change]
    extra: dict[str, object] = {"event_rule_name": rule}
    if kind == STATE_NOTICES["connected"][0]:
        # Home Assistant reads a heartbeat's state from extra.connected.
        extra["connected"] = change == "connected"
    text = (kind, title, message.format(where=location.name))
    return notification_json((nid, device.id, user_id), text, at, extra)

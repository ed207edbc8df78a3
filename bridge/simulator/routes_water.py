"""Water routes: usage queries, live flow, leaks, notifications and usage alerts."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bridge.simulator.account import Device
from bridge.simulator.envelope import Reply, not_found, success, validation_error
from bridge.simulator.listing import (
    Item,
    ListSpec,
    page,
    parse_list,
    raise_if,
    to_int,
)
from bridge.simulator.query import QueryError
from bridge.simulator.routing import Call, Request
from bridge.simulator.state import State

NOTIFICATION_TYPES = (1, 2, 4, 8, 16)
ALL_TYPES = sum(NOTIFICATION_TYPES)
NOTIFICATIONS = ListSpec(
    sort_fields=("id", "created_datetime", "type", "device_id", "read", "title"),
    default_sort="created_datetime",
    flags=("read",),
)
USAGE_ALERTS = ListSpec(
    sort_fields=("id", "triggered_datetime", "device_id", "flume_leak"),
    default_sort="id",
    # `read` is sent by pyflume but alerts have no read state: checked, then ignored.
    flags=("flume_leak", "read"),
)


def _device(state: State, call: Call) -> Device:
    device = state.model.device(call.args["did"])
    if device is None:
        raise not_found()
    return device


def _sensor(state: State, call: Call) -> Device:
    device = _device(state, call)
    if not device.is_sensor:
        raise validation_error([f"device [{device.id}] is not a water sensor"])
    return device


def query(state: State, call: Call) -> Reply:
    """POST /users/{uid}/devices/{did}/query: `data[0]` maps request ids to series."""
    device = _device(state, call)
    try:
        body = json.loads(call.request.body) if call.request.body.strip() else None
    except ValueError:
        raise validation_error(["The request body is not valid JSON"]) from None
    try:
        result = state.model.query(device, body, state.behaviour.get())
    except QueryError as error:
        raise validation_error(error.details) from None
    return success([result], count=0)


def active_flow(state: State, call: Call) -> Reply:
    """GET /users/{uid}/devices/{did}/query/active."""
    return success([state.model.active_flow(_sensor(state, call))])


def active_leak(state: State, call: Call) -> Reply:
    """GET /users/{uid}/devices/{did}/leaks/active (its list parameters are ignored)."""
    return success([{"active": state.model.leak_active(_sensor(state, call))}])


def _device_filter(state: State, request: Request, errors: list[str]) -> str | None:
    device_id = request.param("device_id")
    if device_id is not None and state.model.device(device_id) is None:
        errors.append(f"device with id [{device_id}] is not found")
    return device_id


def _notification_type(request: Request, errors: list[str]) -> int | None:
    raw = request.param("type")
    value = to_int(raw)
    if raw is not None and value not in NOTIFICATION_TYPES:
        errors.append(f"notification type [{raw}] is not valid")
        return None
    return value


def _notification_types(request: Request, errors: list[str]) -> int | None:
    raw = request.param("types")
    value = to_int(raw)
    if raw is not None and (value is None or not 0 < value <= ALL_TYPES):
        errors.append(f"notification types [{raw}] is not a valid bitmask")
        return None
    return value


def _location_devices(state: State, request: Request, errors: list[str]) -> set[str]:
    """Return the ids of the devices at `location_id` (every device if absent)."""
    devices = state.model.account.devices
    raw = request.param("location_id")
    if raw is None:
        return {device.id for device in devices}
    location_id = to_int(raw)
    if location_id is None:
        errors.append(f"location id [{raw}] is not valid")
    return {device.id for device in devices if device.location_id == location_id}


@dataclass(frozen=True, slots=True)
class _NotificationFilter:
    devices: set[str]
    device_id: str | None
    type: int | None
    types: int | None
    read: bool | None

    def matches(self, item: Item) -> bool:
        kind = item["type"]
        return (
            item["device_id"] in self.devices
            and self.device_id in (None, item["device_id"])
            and self.type in (None, kind)
            and (
                self.types is None or (isinstance(kind, int) and kind & self.types > 0)
            )
            and self.read in (None, item["read"])
        )


def list_notifications(state: State, call: Call) -> Reply:
    """GET /users/{uid}/notifications: filters by device, location, type(s), read."""
    request = call.request
    params, errors = parse_list(request, NOTIFICATIONS)
    wanted = _NotificationFilter(
        device_id=_device_filter(state, request, errors),
        type=_notification_type(request, errors),
        types=_notification_types(request, errors),
        devices=_location_devices(state, request, errors),
        read=params.flags.get("read"),
    )
    raise_if(errors)
    items = [item for item in state.model.notifications() if wanted.matches(item)]
    return page(items, params, request)


def list_usage_alerts(state: State, call: Call) -> Reply:
    """GET /users/{uid}/usage-alerts: filters by device and `flume_leak`."""
    request = call.request
    params, errors = parse_list(request, USAGE_ALERTS)
    device_id = _device_filter(state, request, errors)
    raise_if(errors)
    leak = params.flags.get("flume_leak")
    items = [
        item
        for item in state.model.usage_alerts()
        if device_id in (None, item["device_id"]) and leak in (None, item["flume_leak"])
    ]
    return page(items, params, request)

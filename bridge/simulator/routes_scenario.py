"""Scenario controls under /_sim/: device state, slow leaks and upload outages."""

from __future__ import annotations

from bridge.simulator.account import BATTERY_LEVELS
from bridge.simulator.envelope import Reply, json_reply
from bridge.simulator.routes_control import (
    bad_request,
    json_object,
    parse_instant,
    unknown_device,
)
from bridge.simulator.routing import Call
from bridge.simulator.state import State
from bridge.simulator.timebase import to_minutes

MAX_LEAK_GPM = 100.0


def _connected(document: dict[str, object]) -> bool | None:
    value = document.get("connected")
    if value is not None and not isinstance(value, bool):
        raise bad_request("connected must be true or false")
    return value


def _battery(document: dict[str, object]) -> str | None:
    value = document.get("battery_level")
    if value is not None and value not in BATTERY_LEVELS:
        raise bad_request(f"battery_level must be one of {', '.join(BATTERY_LEVELS)}")
    return None if value is None else str(value)


def set_device(state: State, call: Call) -> Reply:
    """POST /_sim/devices/{did}: {"connected": bool, "battery_level": level}."""
    document = json_object(call.request)
    unknown = sorted(set(document) - {"connected", "battery_level"})
    if unknown or not document:
        raise bad_request('give "connected" and/or "battery_level", nothing else')
    connected, battery = _connected(document), _battery(document)
    device = state.model.device(call.args["did"])
    if device is None:
        raise unknown_device()
    try:
        state.model.set_device_state(
            device.id, connected=connected, battery_level=battery
        )
    except ValueError as error:
        raise bad_request(str(error)) from None
    item = state.model.device_json(device, location=False, user=False)
    return json_reply(200, item)


def _rate(value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value <= MAX_LEAK_GPM
    ):
        raise bad_request(
            f"gallons_per_minute must be above 0 and at most {MAX_LEAK_GPM:g}"
        )
    return float(value)


def leak(state: State, call: Call) -> Reply:
    """POST /_sim/leak: start ({"device_id", "gallons_per_minute"}) or stop a leak."""
    document = json_object(call.request)
    stop = document.get("stop", False)
    if set(document) - {"device_id", "gallons_per_minute", "stop"} or stop not in (
        True,
        False,
    ):
        raise bad_request('give "device_id" with "gallons_per_minute" or "stop": true')
    device = state.model.device(str(document.get("device_id", "")))
    if device is None:
        raise unknown_device()
    if not device.is_sensor:
        raise bad_request(f"device {device.id} is not a water sensor")
    if stop:
        state.model.stop_leak(device.id)
        return json_reply(200, {"device_id": device.id, "gallons_per_minute": None})
    rate = _rate(document.get("gallons_per_minute"))
    state.model.start_leak(device.id, rate)
    return json_reply(200, {"device_id": device.id, "gallons_per_minute": rate})


def _outage_list(state: State) -> dict[str, object]:
    model = state.model
    now, latency = to_minutes(model.now()), model.config.latency_minutes
    return {"outages": [o.as_json(now, latency) for o in model.outages.all()]}


def list_outages(state: State, _call: Call) -> Reply:
    """GET /_sim/outages: every upload outage, whether ongoing, whether still held."""
    return json_reply(200, _outage_list(state))


def _release(state: State, device_id: str) -> Reply:
    released = state.model.release_outages(device_id)
    return json_reply(200, {"released": released, **_outage_list(state)})


def _wants_release(document: dict[str, object]) -> bool:
    keys = set(document)
    if keys == {"device_id", "release"} and document["release"] is True:
        return True
    if keys in ({"device_id", "since"}, {"device_id", "since", "until"}):
        return False
    raise bad_request(
        'give "device_id" with "since" (and "until") or with "release": true'
    )


def add_outage(state: State, call: Call) -> Reply:
    """POST /_sim/outages: {"device_id", "since"[, "until"]} or "release": true."""
    document = json_object(call.request)
    release = _wants_release(document)
    device = state.model.device(str(document.get("device_id", "")))
    if device is None:
        raise unknown_device()
    if release:
        return _release(state, device.id)
    since = parse_instant("since", document.get("since"))
    until = document.get("until")
    end = None if until is None else parse_instant("until", until)
    try:
        state.model.add_outage(device.id, since, end)
    except ValueError as error:
        raise bad_request(str(error)) from None
    return json_reply(200, _outage_list(state))


def clear_outages(state: State, _call: Call) -> Reply:
    """DELETE /_sim/outages: forget every outage; held minutes show at once."""
    state.model.outages.clear()
    return json_reply(200, _outage_list(state))

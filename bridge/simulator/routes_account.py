"""Account routes: the user, its devices and its locations."""

from __future__ import annotations

import json

from bridge.simulator.envelope import (
    Reply,
    not_found,
    success,
    updated,
    validation_error,
)
from bridge.simulator.listing import (
    Item,
    ListSpec,
    page,
    parse_flag,
    parse_list,
    raise_if,
    to_int,
)
from bridge.simulator.routing import Call, Request
from bridge.simulator.state import State

DEVICE_TYPES = (1, 2)
DEVICES = ListSpec(
    sort_fields=("id", "type", "location_id", "bridge_id", "last_seen", "product"),
    default_sort="id",
    flags=("user", "location", "list_shared", "primary_location"),
)
LOCATIONS = ListSpec(
    sort_fields=("id", "name", "tz", "primary_location"),
    default_sort="id",
    flags=("list_shared",),
)


def get_user(state: State, _call: Call) -> Reply:
    """GET /users/{uid}."""
    return success([state.model.account.user])


def _device_type(request: Request, errors: list[str]) -> int | None:
    raw = request.param("type")
    value = to_int(raw)
    if raw is not None and value not in DEVICE_TYPES:
        errors.append(f"device type [{raw}] is not valid")
    return value


def _location_filter(request: Request, errors: list[str]) -> int | None:
    raw = request.param("location_id")
    value = to_int(raw)
    if raw is not None and value is None:
        errors.append(f"location id [{raw}] is not valid")
    return value


def _device_matches(
    item: Item, kind: int | None, location_id: int | None, places: set[int] | None
) -> bool:
    return (
        (kind is None or item["type"] == kind)
        and (location_id is None or item["location_id"] == location_id)
        and (places is None or item["location_id"] in places)
    )


def _places(state: State, primary: bool | None) -> set[int] | None:
    """Return the locations `primary_location` allows (None: no filter)."""
    if primary is None:
        return None
    locations = state.model.account.locations
    return {location.id for location in locations if location.primary == primary}


def list_devices(state: State, call: Call) -> Reply:
    """GET /users/{uid}/devices: filters `type`, `location_id`, `primary_location`."""
    params, errors = parse_list(call.request, DEVICES)
    kind = _device_type(call.request, errors)
    location_id = _location_filter(call.request, errors)
    raise_if(errors)
    places = _places(state, params.flags.get("primary_location"))
    model = state.model
    items = [
        model.device_json(
            device, location=params.flag("location"), user=params.flag("user")
        )
        for device in model.account.devices
    ]
    matching = [i for i in items if _device_matches(i, kind, location_id, places)]
    return page(matching, params, call.request)


def get_device(state: State, call: Call) -> Reply:
    """GET /users/{uid}/devices/{did}: `user` and `location` embed objects."""
    errors: list[str] = []
    embed_user = parse_flag(call.request, "user", errors)
    embed_location = parse_flag(call.request, "location", errors)
    raise_if(errors)
    device = state.model.device(call.args["did"])
    if device is None:
        raise not_found()
    item = state.model.device_json(
        device, location=bool(embed_location), user=bool(embed_user)
    )
    return success([item])


def list_locations(state: State, call: Call) -> Reply:
    """GET /users/{uid}/locations."""
    params, errors = parse_list(call.request, LOCATIONS)
    raise_if(errors)
    model = state.model
    items = [model.location_json(location) for location in model.account.locations]
    return page(items, params, call.request)


def get_location(state: State, call: Call) -> Reply:
    """GET /users/{uid}/locations/{lid}."""
    location_id = to_int(call.args["lid"])
    location = (
        None if location_id is None else state.model.account.location(location_id)
    )
    if location is None:
        raise not_found()
    return success([state.model.location_json(location)])


# What a PATCH may change here: the docs show only `away_mode` being written
# (flume-api.md §3.6); any other field is refused rather than silently dropped.
WRITABLE = ("away_mode",)


def update_location(state: State, call: Call) -> Reply:
    """PATCH /users/{uid}/locations/{lid}: body `{"away_mode": bool}`."""
    location_id = to_int(call.args["lid"])
    if location_id is None or state.model.account.location(location_id) is None:
        raise not_found()
    changes = _location_changes(call.request.body)
    state.model.set_away(location_id, changes["away_mode"])
    return updated()


def _location_changes(body: bytes) -> dict[str, bool]:
    try:
        document = json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        raise validation_error(["The request body is not valid JSON"]) from None
    if not isinstance(document, dict) or not document:
        raise validation_error(["The request body must be an object of fields"])
    errors = [
        f"{key} is not a writable field" for key in document if key not in WRITABLE
    ]
    away = document.get("away_mode")
    if not isinstance(away, bool):
        errors.append(f"away_mode [{away}] must be true or false")
    raise_if(errors)
    return {"away_mode": away is True}

"""Control routes under /_sim/: account, truth, stats, faults and the clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bridge.simulator.account import Device
from bridge.simulator.behaviour import BehaviourError
from bridge.simulator.envelope import ApiError, Reply, json_reply
from bridge.simulator.faults import FaultError, parse_revoke
from bridge.simulator.household import UNITS_PER_GALLON
from bridge.simulator.routing import Call, Request
from bridge.simulator.state import State


def bad_request(message: str) -> ApiError:
    """Return a 400 for a control request."""
    return ApiError(400, message)


def unknown_device() -> ApiError:
    """Return the 404 for a device id the account does not have."""
    return ApiError(404, "unknown device_id")


def json_object(request: Request) -> dict[str, object]:
    """Return the JSON object body of a control request, or raise a 400."""
    try:
        document = json.loads(request.body) if request.body.strip() else {}
    except ValueError:
        raise bad_request("the request body is not valid JSON") from None
    if not isinstance(document, dict):
        raise bad_request("the request body must be a JSON object")
    return document


def format_instant(when: datetime) -> str:
    """Format an aware instant as UTC ISO-8601 with a Z."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_instant(name: str, text: object) -> datetime:
    """Parse an ISO-8601 instant with a Z or an offset, or raise a 400."""
    if not isinstance(text, str) or not text:
        raise bad_request(f"{name} is required (ISO-8601 with Z or an offset)")
    # An unencoded "+" in a query string arrives as a space.
    for candidate in (text, text.replace(" ", "+")):
        try:
            when = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        if when.utcoffset() is not None:
            return when
    raise bad_request(f"{name} must be ISO-8601 with Z or an offset, got {text!r}")


def account(state: State, _call: Call) -> Reply:
    """GET /_sim/account: ids, time zones and the (demo) credentials."""
    config = state.model.config
    acct = state.model.account
    locations = {location.id: location for location in acct.locations}
    return json_reply(
        200,
        {
            "user_id": acct.user_id,
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "username": config.username,
            "password": config.password,
            "locations": [
                {"id": loc.id, "name": loc.name, "tz": loc.tz} for loc in acct.locations
            ],
            "devices": [
                {
                    "id": device.id,
                    "type": device.type,
                    "location_id": device.location_id,
                    "tz": locations[device.location_id].tz,
                }
                for device in acct.devices
            ],
        },
    )


def _sensor_span(state: State, call: Call) -> tuple[Device, datetime, datetime]:
    """The `device_id` (a water sensor), `since` and `until` of a truth-like query."""
    request = call.request
    device = state.model.device(request.param("device_id") or "")
    if device is None:
        raise unknown_device()
    if not device.is_sensor:
        raise bad_request(f"device {device.id} is not a water sensor")
    since = parse_instant("since", request.param("since"))
    until = parse_instant("until", request.param("until"))
    if until < since:
        raise bad_request("until must not be before since")
    return device, since, until


def truth(state: State, call: Call) -> Reply:
    """GET /_sim/truth?device_id=&since=&until=: exact gallons, latency ignored."""
    device, since, until = _sensor_span(state, call)
    gallons = state.model.truth(device.id, since, until)
    document = {
        "device_id": device.id,
        "since": format_instant(since),
        "until": format_instant(until),
        "gallons": gallons,
    }
    return json_reply(200, document)


def uses(state: State, call: Call) -> Reply:
    """GET /_sim/uses?device_id=&since=&until=: the water uses behind the truth."""
    device, since, until = _sensor_span(state, call)
    found = state.model.uses(device.id, since, until)
    document = {"device_id": device.id, "uses": [_use(*use) for use in found]}
    return json_reply(200, document)


def _use(kind: str, start: int, end: int | None, rate: int) -> dict[str, object]:
    def instant(minute: int) -> str:
        return format_instant(datetime.fromtimestamp(minute * 60, UTC))

    return {
        "kind": kind,
        "start": instant(start),
        "end": None if end is None else instant(end),
        "gallons_per_minute": rate / UNITS_PER_GALLON,
    }


def stats(state: State, call: Call) -> Reply:
    """GET /_sim/stats[?log=true]: Flume requests per route and status, and a log."""
    with_log = _flag("log", call.request.param("log"))
    document = state.stats.snapshot()
    user_id = state.model.account.user_id
    document["rate_limit"] = {
        "limit": state.limiter.limit,
        "used": state.limiter.used(user_id),
    }
    # Another client on the account: in `used` above, never in the counts or the log.
    document["other_client"] = state.limiter.other_client()
    if with_log:
        entries, dropped = state.stats.log()
        document["log"] = [
            {"at": format_instant(at), "route": route, "status": status}
            for at, route, status in entries
        ]
        document["log_dropped"] = dropped
    return json_reply(200, document)


def _flag(name: str, text: str | None) -> bool:
    if text not in (None, "true", "false"):
        raise bad_request(f'{name} must be "true" or "false", got {text!r}')
    return text == "true"


def reset_stats(state: State, call: Call) -> Reply:
    """DELETE /_sim/stats: start counting (and logging) afresh."""
    state.stats.reset()
    state.limiter.reset_other_counts()
    return stats(state, call)


def _fault_list(state: State) -> list[dict[str, object]]:
    return [rule.as_json() for rule in state.faults.active()]


def list_faults(state: State, _call: Call) -> Reply:
    """GET /_sim/faults: the active rules, in the order they are tried."""
    return json_reply(200, {"faults": _fault_list(state)})


def add_fault(state: State, call: Call) -> Reply:
    """POST /_sim/faults: add a rule and/or revoke tokens at once."""
    document = json_object(call.request)
    try:
        revoke = parse_revoke(document)
        wants_rule = bool(set(document) - {"revoke_tokens"}) or revoke is None
        rule = state.faults.add(document) if wants_rule else None
    except FaultError as error:
        raise bad_request(str(error)) from None
    if revoke is not None:
        state.tokens.revoke(revoke)
    added = None if rule is None else rule.as_json()
    result = {"added": added, "revoked": revoke, "faults": _fault_list(state)}
    return json_reply(200, result)


def clear_faults(state: State, _call: Call) -> Reply:
    """DELETE /_sim/faults: remove every rule."""
    state.faults.clear()
    return json_reply(200, {"faults": []})


def get_clock(state: State, _call: Call) -> Reply:
    """GET /_sim/clock: the simulated now."""
    return json_reply(200, {"now": format_instant(state.clock.now())})


def set_clock(state: State, call: Call) -> Reply:
    """POST /_sim/clock: {"advance": seconds} or {"set": ISO instant}."""
    document = json_object(call.request)
    if len(set(document) & {"advance", "set"}) != 1 or len(document) != 1:
        raise bad_request('give exactly one of "advance" (seconds) or "set" (ISO)')
    if "set" in document:
        state.clock.set(parse_instant("set", document["set"]))
        return get_clock(state, call)
    state.clock.advance(_seconds(document["advance"]))
    return get_clock(state, call)


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise bad_request("advance must be a number of seconds, not negative")
    return float(value)


def get_behaviour(state: State, _call: Call) -> Reply:
    """GET /_sim/behaviour: the readings, limits and headers in force."""
    return json_reply(200, state.behaviour.get().as_json())


def set_behaviour(state: State, call: Call) -> Reply:
    """POST /_sim/behaviour: change the named settings, keep the others."""
    document = json_object(call.request)
    try:
        current = state.set_behaviour(document)
    except BehaviourError as error:
        raise bad_request(str(error)) from None
    return json_reply(200, current.as_json())

"""How the demo shows the bridge's MQTT messages: one short terminal line each."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from bridge.config import Settings
from bridge.contract.topics import Topics

RAW_LIMIT: Final = 120  # characters of an unreadable payload worth showing
LABEL_WIDTH: Final = 13

Show = Callable[[str, bytes], str]  # (device id or node, payload) -> text


def number(value: object, unit: object = "") -> str:
    """A reading with its unit; `-` for what the bridge does not know yet (null)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "-"
    return f"{round(value, 3):.12g} {unit}".rstrip()  # 80.2, not 80.200000001


def flag(value: object) -> str:
    """`yes`/`no` for a JSON boolean, `-` for null."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-"


def mapping(value: object) -> Mapping[str, Any]:
    """`value` when it is a JSON object, else an empty one (a payload of odd shape)."""
    return value if isinstance(value, Mapping) else {}


def raw(payload: bytes) -> str:
    """The payload as text, cut short; `(empty)` for an empty one (a cleared topic)."""
    if not payload:
        return "(empty)"
    text = payload.decode("utf-8", "replace")
    return text if len(text) <= RAW_LIMIT else text[: RAW_LIMIT - 3] + "..."


def show_state(device_id: str, state: Any) -> str:
    """A sensor's key fields (flow, today, total, leak), or a Flume Bridge's link."""
    if "flow_rate" not in state:
        return (
            f"Flume Bridge {device_id}: connected {flag(state.get('connected'))}, "
            f"last seen {state.get('last_seen') or '-'}"
        )
    unit = state.get("unit", "")
    return (
        f"{state.get('location') or 'sensor'} {device_id}: "
        f"flow {number(state.get('flow_rate'), state.get('flow_unit', ''))}, "
        f"today {number(state.get('today'), unit)}, "
        f"total {number(state.get('total'), unit)}, "
        f"leak {flag(state.get('leak'))}"
    )


def show_event(device_id: str, event: Any) -> str:
    """One new alert: its type, title, message and time."""
    return (
        f"{str(event.get('type', 'alert')).upper()} on {device_id}: "
        f"{event.get('title') or ''} - {event.get('message') or ''} "
        f"({event.get('at') or 'time unknown'})"
    )


def show_diagnostics(_device_id: str, document: Any) -> str:
    """Version, requests used of the budget, the plan and the last error, in short."""
    plan = mapping(document.get("request_plan"))
    jobs = ", ".join(
        f"{key.removesuffix('_interval')} every {value} s"
        for key, value in plan.items()
        if key.endswith("_interval")
    )
    used = document.get("requests_last_hour")
    return (
        f"flume-mqtt {document.get('version', '?')}: "
        f"{'-' if used is None else used} of {plan.get('requests_per_hour', '?')} "
        f"Flume requests in the last hour; {jobs or 'no plan yet'}; "
        f"last error: {document.get('last_error') or 'none'}"
    )


def show_discovery(node: str, config: Any) -> str:
    """One config: the device's name and its entity count (or the one entity's name)."""
    device = mapping(config.get("device"))
    name = device.get("name") or node
    cmps = config.get("cmps")
    if isinstance(cmps, Mapping):
        return f"Home Assistant discovery: {name} — {len(cmps)} entities"
    return f"Home Assistant discovery: {name} — {config.get('name') or node}"


def from_json(show: Callable[[str, Any], str]) -> Show:
    """`show(key, document)` for a JSON object payload; the raw payload otherwise."""

    def shown(key: str, payload: bytes) -> str:
        try:
            document = json.loads(payload)
        except ValueError:
            return raw(payload)
        return show(key, document) if isinstance(document, dict) else raw(payload)

    return shown


def show_availability(device_id: str, payload: bytes) -> str:
    """`<device_id> online|offline`."""
    return f"{device_id} {raw(payload)}"


# `<base>/<leaf>` of the service and `<base>/<device_id>/<leaf>` -> how to show them.
SERVICE_LEAVES: Final[Mapping[str, Show]] = {
    "status": lambda _key, payload: raw(payload),
    "diagnostics": from_json(show_diagnostics),
}
DEVICE_LEAVES: Final[Mapping[str, Show]] = {
    "state": from_json(show_state),
    "availability": show_availability,
    "event": from_json(show_event),
    "away_mode": lambda location_id, payload: f"location {location_id} {raw(payload)}",
}


class Lines:
    """Turns each message of the bridge into one line (pure: no I/O).

    Topics follow MQTT_BASE_TOPIC and HA_DISCOVERY_PREFIX; other programs' discovery
    configs on a shared broker are left out.
    """

    def __init__(self, settings: Settings) -> None:
        self.topics = Topics.of(settings)
        self.base = settings.mqtt_base_topic + "/"
        self.prefix = settings.ha_discovery_prefix + "/"

    def line(self, topic: str, payload: bytes) -> str | None:
        """The line for one message, or None for one that is not the bridge's."""
        shown = self._labelled(topic, payload)
        if shown is None:
            return None
        label, text = shown
        return f"{label:<{LABEL_WIDTH}}{text}"

    def _labelled(self, topic: str, payload: bytes) -> tuple[str, str] | None:
        if topic.startswith(self.prefix):
            return self._discovery(topic, payload)
        if not topic.startswith(self.base):
            return None
        parts = topic.removeprefix(self.base).split("/")
        if len(parts) == 1 and parts[0] in SERVICE_LEAVES:
            return parts[0], SERVICE_LEAVES[parts[0]]("", payload)
        if len(parts) == 2 and parts[1] in DEVICE_LEAVES:
            return parts[1], DEVICE_LEAVES[parts[1]](parts[0], payload)
        return "other", f"{topic} {raw(payload)}"

    def _discovery(self, topic: str, payload: bytes) -> tuple[str, str] | None:
        if not self.topics.is_owned(topic):
            return None
        # `device/<node>/config` or `<platform>/<node>/<key>/config`
        node = topic.removeprefix(self.prefix).split("/")[1]
        if not payload:
            return "discovery", f"Home Assistant discovery: {node} removed"
        return "discovery", from_json(show_discovery)(node, payload)

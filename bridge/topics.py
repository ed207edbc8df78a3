"""The bridge's MQTT topic names, and which retained topics on a broker are its own."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Final

from bridge.config import Settings

PLATFORMS: Final = ("sensor", "binary_sensor", "button")
RETAINED_LEAVES: Final = ("state", "availability")  # per device, under the base topic
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
_DEVICE_NODE = re.compile(r"flume_([0-9]+)")
_KEY = re.compile(r"[a-zA-Z0-9_-]+")


def safe_id(text: str) -> str:
    """`text` with every character HA refuses in ids (`[a-zA-Z0-9_-]`) as `_`."""
    return _UNSAFE.sub("_", text)


def node_id(device_id: str) -> str:
    """The discovery id of a Flume device: `flume_<device_id>`."""
    return f"flume_{safe_id(device_id)}"


def service_node_id(settings: Settings) -> str:
    """The discovery id of this bridge process, distinct per MQTT_BASE_TOPIC.

    Several processes (one per Flume account) may share a broker; they differ by
    base topic, so the service device must too.
    """
    base = settings.mqtt_base_topic
    return "flume_mqtt" if base == "flume" else f"flume_mqtt_{safe_id(base)}"


def status_topic(settings: Settings) -> str:
    """`<base>/status`: online/offline, the Last Will."""
    return f"{settings.mqtt_base_topic}/status"


def diagnostics_topic(settings: Settings) -> str:
    """`<base>/diagnostics`: the service's health as JSON."""
    return f"{settings.mqtt_base_topic}/diagnostics"


def device_topic(settings: Settings, device_id: str, leaf: str) -> str:
    """`<base>/<device_id>/<leaf>` for leaf state, availability or event."""
    return f"{settings.mqtt_base_topic}/{device_id}/{leaf}"


def command_topic(settings: Settings, command: str) -> str:
    """`<base>/command/<command>`: refresh or republish."""
    return f"{settings.mqtt_base_topic}/command/{command}"


def device_config_topic(settings: Settings, node: str) -> str:
    """The device-based discovery topic: `<prefix>/device/<node>/config`."""
    return f"{settings.ha_discovery_prefix}/device/{node}/config"


def component_config_topic(
    settings: Settings, platform: str, node: str, key: str
) -> str:
    """Single-component discovery: `<prefix>/<platform>/<node>/<key>/config`."""
    return f"{settings.ha_discovery_prefix}/{platform}/{node}/{key}/config"


def device_topic_filters(settings: Settings) -> list[str]:
    """`<base>/+/state` and `<base>/+/availability`: the devices' retained topics."""
    return [f"{settings.mqtt_base_topic}/+/{leaf}" for leaf in RETAINED_LEAVES]


def owned_topic_filters(settings: Settings) -> list[str]:
    """Subscription filters covering every retained topic the bridge may have published.

    They also match topics of others (another program's discovery configs); `is_owned`
    decides topic by topic.
    """
    prefix = settings.ha_discovery_prefix
    return [
        status_topic(settings),
        diagnostics_topic(settings),
        *device_topic_filters(settings),
        f"{prefix}/device/+/config",
        *(f"{prefix}/{platform}/+/+/config" for platform in PLATFORMS),
    ]


def is_owned(
    topic: str, settings: Settings, device_ids: Collection[str] | None = None
) -> bool:
    """Whether `topic` is a retained topic this bridge publishes (and so may clear).

    Ours: the status and diagnostics topics, `<base>/<id>/state|availability`, the
    service device's discovery and that of Flume devices (`flume_<digits>`). Discovery
    ids name no account, so `device_ids`, when given, narrows the Flume devices to
    those: another flume-mqtt process sharing the discovery prefix keeps its own.
    """
    if topic in (status_topic(settings), diagnostics_topic(settings)):
        return True
    if device_id_of(topic, settings) is not None:
        return True
    return _owned_config(topic, settings, device_ids)


def device_id_of(topic: str, settings: Settings) -> str | None:
    """The device id of `<base>/<id>/state` or `<base>/<id>/availability`, else None."""
    base = settings.mqtt_base_topic + "/"
    parts = topic.removeprefix(base).split("/")
    if (
        topic.startswith(base)
        and len(parts) == 2
        and parts[0].isdigit()
        and parts[1] in RETAINED_LEAVES
    ):
        return parts[0]
    return None


def _owned_config(
    topic: str, settings: Settings, device_ids: Collection[str] | None
) -> bool:
    prefix = settings.ha_discovery_prefix + "/"
    if not topic.startswith(prefix):
        return False
    parts = topic.removeprefix(prefix).split("/")
    if parts[-1] != "config":
        return False
    device_based = len(parts) == 3 and parts[0] == "device"
    per_component = (
        len(parts) == 4 and parts[0] in PLATFORMS and bool(_KEY.fullmatch(parts[2]))
    )
    return (device_based or per_component) and _owned_node(
        parts[1], settings, device_ids
    )


def _owned_node(
    node: str, settings: Settings, device_ids: Collection[str] | None
) -> bool:
    if node == service_node_id(settings):
        return True
    match = _DEVICE_NODE.fullmatch(node)
    if match is None:
        return False
    return device_ids is None or match.group(1) in device_ids

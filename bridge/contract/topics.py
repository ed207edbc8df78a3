"""The bridge's MQTT topic names, and which retained topics on a broker are its own."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from bridge.config import Settings

PLATFORMS: Final = ("sensor", "binary_sensor", "button", "switch")
RETAINED_LEAVES: Final = ("state", "availability")  # per device, under the base topic
AWAY_LEAF: Final = "away_mode"  # per location, under the base topic (retained)
SET_LEAF: Final = "set"  # under a retained topic: the command that changes it
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
_DEVICE_NODE = re.compile(r"flume_([0-9]+)")
_KEY = re.compile(r"[a-zA-Z0-9_-]+")


def safe_id(text: str) -> str:
    """`text` with every character HA refuses in ids (`[a-zA-Z0-9_-]`) as `_`."""
    return _UNSAFE.sub("_", text)


def node_id(device_id: str) -> str:
    """The discovery id of a Flume device: `flume_<device_id>`."""
    return f"flume_{safe_id(device_id)}"


@dataclass(frozen=True, slots=True)
class Topics:
    """The topics of MQTT_BASE_TOPIC, HA_DISCOVERY_PREFIX and HA_STATUS_TOPIC."""

    base: str
    prefix: str  # of Home Assistant discovery
    ha_status: str  # Home Assistant's birth and will

    @classmethod
    def of(cls, settings: Settings) -> Topics:
        """The topics of `settings`."""
        return cls(
            settings.mqtt_base_topic,
            settings.ha_discovery_prefix,
            settings.ha_status_topic,
        )

    @property
    def status(self) -> str:
        """`<base>/status`: online/offline, the Last Will."""
        return f"{self.base}/status"

    @property
    def diagnostics(self) -> str:
        """`<base>/diagnostics`: the service's health as JSON."""
        return f"{self.base}/diagnostics"

    @property
    def commands(self) -> str:
        """`<base>/command/`: refresh and republish are under it."""
        return f"{self.base}/command/"

    @property
    def service_node(self) -> str:
        """The discovery id of this bridge process, distinct per MQTT_BASE_TOPIC.

        Several processes (one per Flume account) may share a broker; they differ by
        base topic, so the service device must too.
        """
        return (
            "flume_mqtt" if self.base == "flume" else f"flume_mqtt_{safe_id(self.base)}"
        )

    def device(self, device_id: str, leaf: str) -> str:
        """`<base>/<device_id>/<leaf>` for leaf state, availability or event."""
        return f"{self.base}/{device_id}/{leaf}"

    def away_mode(self, location_id: int | str) -> str:
        """`<base>/<location_id>/away_mode`: Flume's away mode, `ON` or `OFF`."""
        return f"{self.base}/{location_id}/{AWAY_LEAF}"

    def away_mode_set(self, location_id: int | str) -> str:
        """`<base>/<location_id>/away_mode/set`: the command that changes it."""
        return f"{self.away_mode(location_id)}/{SET_LEAF}"

    def away_location_of(self, topic: str) -> int | None:
        """The location id of `<base>/<location_id>/away_mode/set`, else None."""
        parts = topic.removeprefix(self.base + "/").split("/")
        if (
            topic.startswith(self.base + "/")
            and parts[1:] == [AWAY_LEAF, SET_LEAF]
            and parts[0].isdigit()
        ):
            return int(parts[0])
        return None

    def device_config(self, node: str) -> str:
        """The device-based discovery topic: `<prefix>/device/<node>/config`."""
        return f"{self.prefix}/device/{node}/config"

    def component_config(self, platform: str, node: str, key: str) -> str:
        """Single-component discovery: `<prefix>/<platform>/<node>/<key>/config`."""
        return f"{self.prefix}/{platform}/{node}/{key}/config"

    def device_filters(self) -> list[str]:
        """`<base>/+/state`, `<base>/+/availability`: the devices' retained topics."""
        return [self.device("+", leaf) for leaf in RETAINED_LEAVES]

    def owned_filters(self) -> list[str]:
        """Subscription filters covering every retained topic the bridge may publish.

        They also match topics of others (another program's discovery configs);
        `is_owned` decides topic by topic.
        """
        return [
            self.status,
            self.diagnostics,
            *self.device_filters(),
            self.away_mode("+"),
            self.device_config("+"),
            *(self.component_config(platform, "+", "+") for platform in PLATFORMS),
        ]

    def is_owned(self, topic: str, device_ids: Collection[str] | None = None) -> bool:
        """Whether `topic` is a retained topic this bridge publishes (and may clear).

        Ours: the status and diagnostics topics, `<base>/<id>/state|availability`, the
        service device's discovery and that of Flume devices (`flume_<digits>`).
        Discovery ids name no account, so `device_ids`, when given, narrows the Flume
        devices to those: another flume-mqtt process sharing the prefix keeps its own.
        """
        if topic in (self.status, self.diagnostics):
            return True
        parts = topic.removeprefix(self.base + "/").split("/")
        if topic.startswith(self.base + "/") and parts[1:] == [AWAY_LEAF]:
            return parts[0].isdigit()
        return self.device_id_of(topic) is not None or self._owned_config(
            topic, device_ids
        )

    def device_id_of(self, topic: str) -> str | None:
        """The device id of `<base>/<id>/state` or `<base>/<id>/availability`."""
        parts = topic.removeprefix(self.base + "/").split("/")
        if (
            topic.startswith(self.base + "/")
            and len(parts) == 2
            and parts[0].isdigit()
            and parts[1] in RETAINED_LEAVES
        ):
            return parts[0]
        return None

    def _owned_config(self, topic: str, device_ids: Collection[str] | None) -> bool:
        parts = topic.removeprefix(self.prefix + "/").split("/")
        if not topic.startswith(self.prefix + "/") or parts[-1] != "config":
            return False
        device_based = len(parts) == 3 and parts[0] == "device"
        per_component = (
            len(parts) == 4 and parts[0] in PLATFORMS and bool(_KEY.fullmatch(parts[2]))
        )
        return (device_based or per_component) and self._owned_node(
            parts[1], device_ids
        )

    def _owned_node(self, node: str, device_ids: Collection[str] | None) -> bool:
        if node == self.service_node:
            return True
        match = _DEVICE_NODE.fullmatch(node)
        return match is not None and (
            device_ids is None or match.group(1) in device_ids
        )

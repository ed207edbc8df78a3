"""Home Assistant discovery: device or per-entity configs, and their removal (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from bridge.config import Settings
from bridge.contract.entities import (
    HUB_ENTITIES,
    SENSOR_ENTITIES,
    SERVICE_ENTITIES,
    Entity,
)
from bridge.contract.payloads import to_json
from bridge.contract.topics import RETAINED_LEAVES, Topics, node_id
from bridge.models import BRIDGE, Device, Message, UnitSystem

PORTAL_URL: Final = "https://portal.flumewater.com"
MANUFACTURER: Final = "Flume"
ORIGIN_NAME: Final = "flume-mqtt"
SUPPORT_URL: Final[str | None] = None  # the project has no public home yet
# The device block is a strict schema in Home Assistant: one key a release does not
# know and it refuses every entity of the config ("extra keys not allowed"). The
# component schema is for releases before 2024.11, so it leaves out what they lack:
# 2024.3 knows no `model_id`, 2023.8 no `serial_number` (tests/data/ha_mqtt_keys.json).
NEWER_DEVICE_KEYS: Final = ("model_id", "serial_number")
# A device class a release does not know fails the entity's config: flow rate's came
# with 2024 (2023.12 lacks it), so the component schema sends the flow without one.
NEWER_DEVICE_CLASSES: Final = ("volume_flow_rate",)


@dataclass(frozen=True, slots=True)
class _Node:
    """One HA device: its discovery id, device block, topics and entities."""

    id: str
    device: Mapping[str, object]
    entities: Sequence[Entity]
    state_topic: str | None = None
    availability_topic: str | None = None
    location_id: int | None = None  # for the away-mode switch


class Discovery:
    """The retained configs HA_DISCOVERY, its prefix and its schema ask for."""

    def __init__(self, settings: Settings, units: UnitSystem, version: str) -> None:
        self._enabled = settings.ha_discovery
        self._per_device = settings.ha_discovery_schema == "device"
        self._topics = Topics.of(settings)
        self._units = units
        self._version = version

    def configs(self, devices: Iterable[Device]) -> list[Message]:
        """Retained configs: the service, then Flume Bridges, then sensors.

        Empty when HA_DISCOVERY is off. Devices of other types are left out.
        """
        if not self._enabled:
            return []
        devices = list(devices)
        hubs = {d.id for d in devices if d.type == BRIDGE}
        nodes = [
            self._service_node(),
            *(self._hub_node(d) for d in devices if d.type == BRIDGE),
            *(self._sensor_node(d, hubs) for d in devices if d.is_sensor),
        ]
        return [message for node in nodes for message in self._configs(node)]

    def removals(self, device_ids: Iterable[str]) -> list[Message]:
        """Empty retained payloads: the configs (either schema), state, availability.

        For devices that left the account; HA removes their entities and device.
        """
        found: list[Message] = []
        for device_id in device_ids:
            node = node_id(device_id)
            found.append(_empty(self._topics.device_config(node)))
            found += [_empty(self._component_topic(e, node)) for e in SENSOR_ENTITIES]
            found += [
                _empty(self._topics.device(device_id, leaf)) for leaf in RETAINED_LEAVES
            ]
        return found

    def _configs(self, node: _Node) -> list[Message]:
        origin = {"name": ORIGIN_NAME, "sw_version": self._version}
        if SUPPORT_URL is not None:  # pragma: no cover - set when there is a home
            origin["support_url"] = SUPPORT_URL
        shared = {"device": node.device, "origin": origin}
        components = {e.key: self._component(e, node) for e in node.entities}
        if self._per_device:
            topic = self._topics.device_config(node.id)
            # `cmps` as DESIGN §5 and HA's examples spell it; HA reads `components` too.
            return [Message(topic, to_json({**shared, "cmps": components}), True)]
        shared["device"] = _without(node.device, *NEWER_DEVICE_KEYS)
        return [
            Message(
                self._component_topic(entity, node.id),
                # The platform is in the topic here: the key is left out.
                to_json({**_without(components[entity.key], "platform"), **shared}),
                retain=True,
            )
            for entity in node.entities
        ]

    def _component(self, entity: Entity, node: _Node) -> dict[str, object]:
        unique_id = f"{node.id}_{entity.key}"
        config: dict[str, object] = {
            "platform": entity.platform,
            "name": entity.name,
            "unique_id": unique_id,
            # Entity ids take lower case, digits and `_` only (no `-`, unlike ids).
            "default_entity_id": f"{entity.platform}.{_slug(unique_id)}",
            **self._classes(entity),
            **self._sources(entity, node),
            **self._availability(entity, node),
            "qos": 1,
        }
        config.update(entity.extra)
        return config

    def _classes(self, entity: Entity) -> dict[str, object]:
        unit, display = {
            "volume": (self._units.volume, self._units.volume_display),
            "flow": (self._units.flow, self._units.flow_display),
            None: (None, None),
        }[entity.unit]
        known = self._per_device or entity.device_class not in NEWER_DEVICE_CLASSES
        found = {
            "device_class": entity.device_class if known else None,
            "state_class": entity.state_class,
            "unit_of_measurement": unit,
            "suggested_display_precision": display,
            "entity_category": entity.category,
        }
        return {key: value for key, value in found.items() if value is not None}

    def _sources(self, entity: Entity, node: _Node) -> dict[str, object]:
        if entity.source == "command":
            return {"command_topic": self._topics.commands + entity.key}
        if entity.source == "away":
            return {
                "state_topic": self._topics.away_mode(str(node.location_id)),
                "command_topic": self._topics.away_mode_set(str(node.location_id)),
            }
        state_topic = {
            "state": node.state_topic,
            "status": self._topics.status,
            "diagnostics": self._topics.diagnostics,
        }[entity.source]
        found: dict[str, object] = {"state_topic": state_topic}
        if entity.json_key is not None:
            found["value_template"] = f"{{{{ value_json.{entity.json_key} }}}}"
        return found

    def _availability(self, entity: Entity, node: _Node) -> dict[str, object]:
        status = {"topic": self._topics.status}
        if entity.availability == "none":
            return {}
        if entity.availability == "service" or node.availability_topic is None:
            return {"availability": [status]}
        device = {"topic": node.availability_topic}
        return {"availability": [status, device], "availability_mode": "all"}

    def _component_topic(self, entity: Entity, node: str) -> str:
        return self._topics.component_config(entity.platform, node, entity.key)

    def _service_node(self) -> _Node:
        base = self._topics.base
        device = {
            "identifiers": [self._topics.service_node],
            "name": "Flume MQTT" if base == "flume" else f"Flume MQTT ({base})",
            "manufacturer": ORIGIN_NAME,
            "model": "Flume to MQTT bridge",
            "sw_version": self._version,
        }
        return _Node(self._topics.service_node, device, SERVICE_ENTITIES)

    def _hub_node(self, hub: Device) -> _Node:
        device = _device_block(hub, "Flume Bridge", "Flume Bridge")
        device["via_device"] = self._topics.service_node
        state = self._topics.device(hub.id, "state")
        return _Node(node_id(hub.id), device, HUB_ENTITIES, state_topic=state)

    def _sensor_node(self, sensor: Device, hubs: set[str]) -> _Node:
        device = _device_block(sensor, "Flume", "Water sensor")
        # Linked to its Flume Bridge when that is discovered too, else to the service.
        via = sensor.bridge_id if sensor.bridge_id in hubs else None
        device["via_device"] = node_id(via) if via else self._topics.service_node
        # No location, no away mode to show or set.
        located = sensor.location_id is not None
        return _Node(
            node_id(sensor.id),
            device,
            [e for e in SENSOR_ENTITIES if located or e.source != "away"],
            state_topic=self._topics.device(sensor.id, "state"),
            availability_topic=self._topics.device(sensor.id, "availability"),
            location_id=sensor.location_id,
        )


def _device_block(device: Device, title: str, model: str) -> dict[str, object]:
    where = device.location.name if device.location else device.id
    block: dict[str, object] = {
        "identifiers": [node_id(device.id)],
        "name": f"{title} {where}",
        "manufacturer": MANUFACTURER,
        "model": model,
        "serial_number": device.id,
        "configuration_url": PORTAL_URL,
    }
    if device.product:
        block["model_id"] = device.product
    return block


def _empty(topic: str) -> Message:
    return Message(topic, b"", retain=True)


def _without(config: Mapping[str, object], *keys: str) -> dict[str, object]:
    return {k: v for k, v in config.items() if k not in keys}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", text.lower())

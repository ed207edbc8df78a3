"""Every discovery config is accepted by each Home Assistant release its schema is for.

The key lists come from the releases' own MQTT schemas (tests/data/ha_mqtt_keys.json,
made by tests/support/ha_schemas.py): the device and origin blocks are strict there (one
unknown key and HA refuses the whole config), unknown entity keys are dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from bridge.config import Settings
from bridge.contract import Contract
from bridge.models import Device, Location

KEYS = json.loads(
    (Path(__file__).parents[1] / "data" / "ha_mqtt_keys.json").read_text()
)["releases"]
# The component schema is for releases before device-based discovery (and openHAB).
FOR_SCHEMA = {
    "component": sorted(KEYS),
    "device": sorted(r for r in KEYS if KEYS[r]["device_discovery"]),
}
UNITS = ("gallons", "liters", "cubic_feet", "cubic_meters")
# Without these an entity would not work at all, so no release may drop them.
ESSENTIAL = {
    "name", "unique_id", "state_topic", "command_topic", "value_template",
    "device_class", "unit_of_measurement", "state_class", "availability",
    "availability_mode", "entity_category", "device",
}  # fmt: skip
HOME = Location(10_001, "Home", "America/Los_Angeles")
HUB = Device("6248148189204194986", 1, HOME.id, HOME, connected=True)
SENSOR = Device(
    "6248148189204194987", 2, HOME.id, HOME, bridge_id=HUB.id, connected=True,
    battery_level="high", product="flume2",
)  # fmt: skip


def entity_configs(units: str, schema: str) -> Iterator[dict[str, Any]]:
    """Each entity's config as HA validates it: shared blocks merged, platform set."""
    settings = Settings.model_validate({"units": units, "ha_discovery_schema": schema})
    contract = Contract.of(settings, "1.2.3")
    for message in contract.discovery.configs([HUB, SENSOR]):
        payload = json.loads(message.payload)
        if schema == "device":
            shared = {k: v for k, v in payload.items() if k != "cmps"}
            yield from ({**shared, **entity} for entity in payload["cmps"].values())
        else:
            platform = message.topic.split("/")[1]
            yield {**payload, "platform": platform}


def refusals(config: Mapping[str, Any], release: str) -> list[str]:
    """What `release` refuses in one entity config (nothing when it is accepted)."""
    allowed = KEYS[release]
    platform = allowed["platforms"][config["platform"]]
    entity = {k: v for k, v in config.items() if k != "platform"}
    found = [
        f"device.{key}" for key in config.get("device", {})
        if key not in allowed["device"]
    ]  # fmt: skip
    if allowed["origin"] is not None and "origin" in config:
        found += [f"origin.{k}" for k in config["origin"] if k not in allowed["origin"]]
    found += [
        f"availability.{key}"
        for entry in config.get("availability", [])
        for key in entry
        if key not in allowed["availability"]
    ]
    found += [f"missing {key}" for key in platform["required"] if key not in entity]
    found += [
        f"{key} {entity[key]}"
        for key, values in _values(allowed["values"], config["platform"])
        if key in entity and entity[key] not in values
    ]
    unknown = set(entity) - set(platform["keys"])
    if platform["unknown_keys"] == "rejected":
        found += [f"unknown {key}" for key in sorted(unknown)]
    found += [f"dropped {key}" for key in sorted(unknown & ESSENTIAL)]
    return found


def _values(
    known: Mapping[str, list[str]], platform: str
) -> Iterator[tuple[str, list[str]]]:
    """The keys whose values HA checks against a list, with the release's list."""
    yield "device_class", known[platform]
    yield "entity_category", known["entity_category"]
    if platform == "sensor":
        yield "state_class", known["state_class"]


@pytest.mark.parametrize("units", UNITS)
@pytest.mark.parametrize(
    ("schema", "release"),
    [
        (schema, release)
        for schema, releases in FOR_SCHEMA.items()
        for release in releases
    ],
)
def test_every_config_is_accepted_by_the_release(
    units: str, schema: str, release: str
) -> None:
    """No config of either schema holds a key its releases refuse, in any UNITS."""
    refused = {
        config["unique_id"]: problems
        for config in entity_configs(units, schema)
        if (problems := refusals(config, release))
    }
    assert refused == {}


def test_the_check_finds_the_model_id_home_assistant_2024_3_refused() -> None:
    """The error of issue 15: model_id in the device block of a 2024.3 config."""
    config = {
        "platform": "sensor", "name": "Total", "unique_id": "flume_1_total",
        "state_topic": "flume/1/state",
        "device": {"identifiers": ["flume_1"], "model_id": "flume2"},
    }  # fmt: skip
    assert refusals(config, "2024.3.3") == ["device.model_id"]
    assert refusals(config, "2024.11.3") == []


def test_the_check_finds_a_device_class_older_releases_do_not_know() -> None:
    """volume_flow_rate is a sensor device class from 2024 on; 2023.8 refuses it."""
    config = {
        "platform": "sensor", "name": "Flow", "unique_id": "flume_1_flow_rate",
        "state_topic": "flume/1/state", "device_class": "volume_flow_rate",
    }  # fmt: skip
    assert refusals(config, "2023.8.4") == ["device_class volume_flow_rate"]
    assert refusals(config, "2024.3.3") == []


def test_the_device_schema_keeps_what_current_releases_understand() -> None:
    """Device-based discovery still names the model id and the serial number."""
    device = next(entity_configs("gallons", "device"))
    configs = [c for c in entity_configs("gallons", "device") if c["device"] != device]
    sensor = next(c for c in configs if c["unique_id"].endswith("_total"))
    assert sensor["device"]["model_id"] == "flume2"
    assert sensor["device"]["serial_number"] == SENSOR.id


def test_the_key_lists_cover_the_releases_of_the_readme() -> None:
    """2023.x before device discovery, 2024.3 (Python 3.11's last), 2024.11, newest."""
    assert FOR_SCHEMA["component"] == [
        "2023.1.7", "2023.8.4", "2024.11.3", "2024.3.3", "2026.2.3",
    ]  # fmt: skip
    assert FOR_SCHEMA["device"] == ["2024.11.3", "2026.2.3"]

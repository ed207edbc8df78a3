"""The away-mode switch in discovery: on the sensor's device, topics of its location."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridge.config import Settings
from bridge.contract import Contract
from bridge.models import Device, Location

HOME = Location(10_001, "Home", "America/Los_Angeles", away_mode=True)
SENSOR = Device("6248148189204194987", 2, HOME.id, HOME)
NOWHERE = Device("6248148189204194988", 2, None, None)


def components(schema: str, device: Device) -> dict[str, Any]:
    settings = Settings.model_validate({"ha_discovery_schema": schema})
    contract = Contract.of(settings, version="1.2.3")
    found: dict[str, Any] = {}
    for message in contract.discovery.configs([device])[1:]:  # after the service
        payload = json.loads(message.payload)
        if "cmps" in payload:
            found.update(payload["cmps"])
        else:
            found[message.topic.split("/")[-2]] = {
                **payload,
                "platform": message.topic.split("/")[1],
            }
    return found


@pytest.mark.parametrize("schema", ["device", "component"])
def test_the_switch_reads_and_sets_the_locations_away_mode(schema: str) -> None:
    """State and command topics name the location; payloads are ON and OFF."""
    switch = components(schema, SENSOR)["away_mode"]
    assert switch["platform"] == "switch"
    assert switch["state_topic"] == "flume/10001/away_mode"
    assert switch["command_topic"] == "flume/10001/away_mode/set"
    assert (switch["payload_on"], switch["payload_off"]) == ("ON", "OFF")
    assert "value_template" not in switch
    assert switch["default_entity_id"] == f"switch.flume_{SENSOR.id}_away_mode"


def test_a_sensor_without_a_location_has_no_switch() -> None:
    """No location id, nothing to show or set: the switch is left out."""
    assert "away_mode" not in components("device", NOWHERE)
    assert "total" in components("device", NOWHERE)


def test_the_away_mode_state_is_a_retained_word() -> None:
    """`flume/<location_id>/away_mode` carries ON or OFF, retained."""
    payloads = Contract.of(Settings(), version="1.2.3").payloads
    on, off = payloads.away_mode(10_001, True), payloads.away_mode(10_001, False)
    assert (on.topic, on.payload, on.retain) == ("flume/10001/away_mode", b"ON", True)
    assert off.payload == b"OFF"

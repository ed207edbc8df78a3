"""The discovery preview: which messages a start publishes, and how they print."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal

from bridge.commands.discovery import as_json, as_text, start_messages, summary
from bridge.config import Settings
from bridge.contract import Contract
from bridge.models import Device, Location, Message

NOW = datetime(2026, 11, 28, 12, 34, tzinfo=UTC)
HOME = Location(1, "Home", "UTC")


def test_a_disconnected_sensor_starts_offline() -> None:
    """A sensor Flume does not call connected is published unavailable."""
    sensor = Device("7", 2, 1, HOME, connected=False)
    unknown = Device("8", 2, 1, HOME, connected=None)
    made = Contract.of(Settings(ha_discovery=False), version="1")
    messages = start_messages(made, [sensor, unknown], NOW)
    assert [(m.topic, m.payload) for m in messages if "availability" in m.topic] == [
        ("flume/7/availability", b"offline"),
        ("flume/8/availability", b"offline"),
    ]


def test_without_discovery_only_status_and_device_topics_remain() -> None:
    """HA_DISCOVERY=false leaves out every config, nothing else."""
    made = Contract.of(Settings(ha_discovery=False), version="1")
    hub = Device("6", 1, 1, HOME, connected=True)
    other = Device("9", 3, 1, HOME)  # an unknown device type gets nothing
    messages = start_messages(made, [hub, other], NOW)
    assert [m.topic for m in messages] == ["flume/status", "flume/6/state"]


def test_json_parses_json_payloads_and_keeps_words_as_text() -> None:
    """JSON payloads print as JSON, `online` and empty ones as strings."""
    messages = [
        Message("a", b'{"x": 1}', True),
        Message("b", b"online", True),
        Message("c", b"", True),
        Message("d", b"{not json", False),
    ]
    assert json.loads(as_json(messages)) == [
        {"topic": "a", "retain": True, "payload": {"x": 1}},
        {"topic": "b", "retain": True, "payload": "online"},
        {"topic": "c", "retain": True, "payload": ""},
        {"topic": "d", "retain": False, "payload": "{not json"},
    ]


def test_a_long_payload_is_shortened_in_the_listing() -> None:
    """A state longer than the line is cut with an ellipsis; short ones are whole."""
    long = Message("s", json.dumps({"k": "v" * 100}).encode(), True)
    assert len(summary(long)) == 72
    assert summary(long).endswith("…")
    text = as_text([Message("flume/status", b"online", True), long])
    assert text.splitlines()[0] == "flume/status  retained  online"
    assert text.splitlines()[-1].startswith("2 messages;")


def test_configs_are_summed_up_as_device_and_entities() -> None:
    """A device config reads `device: N entities`, an entity config `device: name`."""
    hub = Device("6", 1, 1, HOME, connected=True)
    schemas: tuple[tuple[Literal["device", "component"], str], ...] = (
        ("device", "Flume MQTT: 4 entities"),
        ("component", "Flume MQTT: Status"),
    )
    for schema, first in schemas:
        made = Contract.of(Settings(ha_discovery_schema=schema), version="1")
        configs = made.discovery.configs([hub])
        assert summary(configs[0]) == first
        assert summary(configs[-1]).startswith("Flume Bridge Home: ")

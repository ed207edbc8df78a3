"""The demo's lines: one short, readable line per message of the bridge."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.commands.demo_lines import Lines, number
from bridge.config import Settings
from bridge.contract import Contract
from bridge.models import Device, Diagnostics, Event, Location, SensorState
from tests.support.contract import device_state

AT = datetime(2026, 11, 28, 12, 34, tzinfo=UTC)
SENSOR = "6248148189204194987"
HUB = "6248148189204194986"
HOME = Location(1, "Home", "UTC")
TOPICS = (
    "flume/status", "flume/diagnostics", "flume/1/state", "flume/1/event",
    "flume/1/availability", "homeassistant/device/flume_1/config",
    "homeassistant/sensor/flume_1/today/config", "flume/x/y/z",
)  # fmt: skip
DEVICES = [
    Device(HUB, 1, 1, HOME, connected=True, last_seen=AT),
    Device(SENSOR, 2, 1, HOME, bridge_id=HUB, product="flume2"),
]


def shown(settings: Settings, topic: str, payload: bytes) -> str | None:
    line = Lines(settings).line(topic, payload)
    return None if line is None else " ".join(line.split())


def test_a_sensor_state_shows_flow_today_total_and_leak() -> None:
    """A sensor's state is its location, id, flow, today, total and leak, in units."""
    config = Settings(units="liters")
    builder = Contract.of(config)
    state = SensorState(
        device_id=SENSOR, location="Home", unit="L", flow_unit="L/min",
        flow_rate=1.5899, today=303.58, total=None, leak=True,
    )  # fmt: skip
    message = builder.payloads.state(state)
    assert shown(config, message.topic, message.payload) == (
        f"state Home {SENSOR}: flow 1.59 L/min, today 303.58 L, total -, leak yes"
    )


def test_a_flume_bridge_state_shows_its_connection() -> None:
    """A Flume Bridge's state says whether it is connected and when it was seen."""
    config = Settings()
    builder = Contract.of(config)
    message = device_state(builder, DEVICES[0], AT)
    assert shown(config, message.topic, message.payload) == (
        f"state Flume Bridge {HUB}: connected yes, last seen 2026-11-28T12:34:00Z"
    )


def test_device_discovery_is_one_line_per_device() -> None:
    """A device config is summarised as its name and how many entities it has."""
    config = Settings()
    builder = Contract.of(config)
    lines = [
        shown(config, m.topic, m.payload) for m in builder.discovery.configs(DEVICES)
    ]
    assert lines == [
        "discovery Home Assistant discovery: Flume MQTT — 4 entities",
        "discovery Home Assistant discovery: Flume Bridge Home — 2 entities",
        "discovery Home Assistant discovery: Flume Home — 21 entities",
    ]


def test_component_discovery_names_the_entity_and_removal_says_so() -> None:
    """Per-entity configs name their entity; an empty config is a removal."""
    settings = Settings(ha_discovery_schema="component")
    first = Contract.of(settings).discovery.configs(DEVICES)[0]
    assert shown(settings, first.topic, first.payload) == (
        "discovery Home Assistant discovery: Flume MQTT — Status"
    )
    assert shown(settings, first.topic, b"") == (
        "discovery Home Assistant discovery: flume_mqtt removed"
    )


def test_status_availability_diagnostics_and_events() -> None:
    """The service's status and health and a device's events read in one line each."""
    config = Settings()
    builder = Contract.of(config)
    plan = {"usage": 60, "leaks": 300}
    diagnostics = Diagnostics("0.1.0", AT, 100, plan, None, "Flume answered 503")
    event = Event("leak", "Leak detected", "Flume detected a leak at Home", AT)
    messages = [
        builder.payloads.status(True),
        builder.payloads.availability(SENSOR, False),
        builder.payloads.diagnostics(diagnostics),
        builder.payloads.event(SENSOR, event),
    ]
    assert [shown(config, m.topic, m.payload) for m in messages] == [
        "status online",
        f"availability {SENSOR} offline",
        "diagnostics flume-mqtt 0.1.0: - of 100 Flume requests in the last hour; "
        "usage every 60 s, leaks every 300 s; last error: Flume answered 503",
        f"event LEAK on {SENSOR}: Leak detected - Flume detected a leak at Home "
        "(2026-11-28T12:34:00Z)",
    ]


def test_odd_payloads_are_shown_raw_and_shortened() -> None:
    """Payloads that are not JSON objects show as text, cut at 120 characters."""
    settings = Settings()
    assert shown(settings, f"flume/{SENSOR}/state", b"[1, 2]") == "state [1, 2]"
    long = b"x" * 200
    assert shown(settings, "flume/diagnostics", long) == (
        "diagnostics " + "x" * 117 + "..."
    )
    assert shown(settings, "flume/diagnostics", b'{"request_plan": 3}') == (
        "diagnostics flume-mqtt ?: - of ? Flume requests in the last hour; "
        "no plan yet; last error: none"
    )
    config = b'{"device": "x", "cmps": {"a": {}}}'
    assert shown(settings, "homeassistant/device/flume_1/config", config) == (
        "discovery Home Assistant discovery: flume_1 — 1 entities"
    )
    assert shown(settings, "flume/1/event", b"{}") == (
        "event ALERT on 1: - (time unknown)"
    )


def test_other_topics_follow_the_base_topic_and_prefix() -> None:
    """Other programs' discovery and topics outside the base are left out."""
    settings = Settings(mqtt_base_topic="home/water", ha_discovery_prefix="ha")
    assert shown(settings, "ha/device/zigbee_lamp/config", b"{}") is None
    assert shown(settings, "flume/status", b"online") is None
    assert shown(settings, "home/water/status", b"online") == "status online"
    assert shown(settings, "home/water/command/refresh", b"PRESS") == (
        "other home/water/command/refresh PRESS"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "-"), (True, "-"), ("1", "-"), (0, "0 gal"), (80.2000001, "80.2 gal")],
)
def test_numbers_are_short_and_null_is_a_dash(value: object, text: str) -> None:
    """Readings show at most three decimals; null and non-numbers show as `-`."""
    assert number(value, "gal") == text


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    topic=st.sampled_from(TOPICS),
    payload=st.one_of(
        st.binary(max_size=64),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=12), inner, max_size=4)
            ),
            max_leaves=8,
        ).map(lambda doc: json.dumps(doc).encode()),
    ),
)
def test_any_payload_gives_a_line_and_never_raises(topic: str, payload: bytes) -> None:
    """Whatever arrives on the bridge's topics, the demo prints a line and goes on."""
    assert Lines(Settings()).line(topic, payload)

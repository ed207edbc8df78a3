"""Discovery payloads hold only what Home Assistant accepts, in any UNITS and schema."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bridge.config import Settings
from bridge.contract import Contract
from bridge.contract.entities import SESSION_VOLUME
from bridge.models import BridgeState, Device, Location, Message, SensorState
from tests.support.contract import device_state

# From home-assistant/core (peers.md §3.7): the unit strings and state classes each
# device class accepts. Flow units are the four every core accepts, not the newer ones.
ALLOWED_UNITS: dict[str | None, set[str | None]] = {
    "water": {"L", "gal", "m³", "ft³", "CCF", "MCF"},
    "volume_flow_rate": {"m³/h", "ft³/min", "L/min", "gal/min"},
    "timestamp": {None},
    "enum": {None},
    # No device class: any unit (the component schema's flow rate, for HA before 2024).
    None: {None, "requests", "m³/h", "ft³/min", "L/min", "gal/min"},
}
ALLOWED_STATE_CLASSES: dict[str | None, set[str | None]] = {
    "water": {"total", "total_increasing", None},
    "volume_flow_rate": {"measurement"},
    "timestamp": {None},
    "enum": {None},
    None: {"measurement", None},
}
BINARY_SENSOR_CLASSES = {"moisture", "problem", "battery", "connectivity"}
BINARY_KEYS: tuple[str, ...] = ("leak", "high_flow", "low_battery", "connected")
BINARY_KEYS += ("status", "continuous_flow", "sustained_flow", "away_flow")
ENERGY_UNITS = {"CCF", "ft³", "m³", "gal", "L", "MCF"}  # energy/validate.py
ENERGY_KEYS = ("total", "today", "this_week", "this_month", "this_year")
HA_ID = re.compile(r"[a-zA-Z0-9_-]+")
ENTITY_ID = re.compile(r"(sensor|binary_sensor|button|switch)\.[a-z0-9_]+")
UNITS = ("gallons", "liters", "cubic_feet", "cubic_meters")
SCHEMAS = ("device", "component")
SEEN = datetime(2026, 11, 28, 12, 33, 40, tzinfo=UTC)
NOW = datetime(2026, 11, 28, 12, 34, tzinfo=UTC)
HOME = Location(10_001, "Home", "America/Los_Angeles")
HUB = Device("6248148189204194986", 1, HOME.id, HOME, connected=True, last_seen=SEEN)
SENSOR = Device(
    "6248148189204194987",
    2,
    HOME.id,
    HOME,
    bridge_id=HUB.id,
    connected=True,
    last_seen=SEEN,
    battery_level="high",
    product="flume2",
)
DESIGN_STATE: dict[str, Any] = {
    "device_id": "6248148189204194987", "location": "Home",
    "updated_at": "2026-11-28T12:34:00Z", "unit": "gal", "flow_unit": "gal/min",
    "flow_rate": 0.42, "flowing": True, "last_60_min": 3.1, "last_24_hours": 120.5,
    "today": 80.2, "this_week": 402.7, "this_month": 1804.3, "this_year": 25012.9,
    "yesterday": 95.4, "last_month": 2210.8,
    "total": 123456.7, "total_since": "2026-11-01T08:00:00Z",
    "total_through": "2026-11-28T12:31:00Z", "leak": False, "high_flow": False,
    "continuous_flow": False, "sustained_flow": False, "away_flow": False,
    "last_session": None,
    "low_battery": False, "battery_level": "high", "connected": True,
    "last_seen": "2026-11-28T12:33:40Z",
}  # fmt: skip


def builder(**settings: Any) -> Contract:
    return Contract.of(Settings(**settings), version="1.2.3")


def payload(message: Message) -> Any:
    return json.loads(message.payload)


def components(message: Message) -> Iterator[tuple[str, dict[str, Any]]]:
    """(key, config) of each entity of a config message, whatever the schema."""
    config = payload(message)
    if "cmps" in config:
        yield from config["cmps"].items()
    else:
        yield message.topic.split("/")[-2], config


def all_components(units: str, schema: str) -> list[tuple[str, dict[str, Any]]]:
    made = builder(units=units, ha_discovery_schema=schema)
    found = made.discovery.configs([HUB, SENSOR])
    return [pair for message in found for pair in components(message)]


def sensor_config(units: str, schema: str) -> dict[str, dict[str, Any]]:
    return {
        key: config
        for key, config in all_components(units, schema)
        if config["unique_id"].startswith(f"flume_{SENSOR.id}_")
    }


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("units", UNITS)
def test_every_entity_uses_only_classes_and_units_ha_accepts(
    units: str, schema: str
) -> None:
    """Each device class, state class and unit string is one HA accepts together."""
    found = all_components(units, schema)
    assert len(found) == 4 + 2 + 21  # service, Flume Bridge, sensor
    for key, config in found:
        cls = config.get("device_class")
        if key in BINARY_KEYS:
            assert cls in BINARY_SENSOR_CLASSES, key
            assert "state_class" not in config, key
            assert "unit_of_measurement" not in config, key
        elif "command_topic" not in config:
            assert config.get("unit_of_measurement") in ALLOWED_UNITS[cls], key
            assert config.get("state_class") in ALLOWED_STATE_CLASSES[cls], key


@pytest.mark.parametrize("units", UNITS)
def test_energy_entities_are_water_and_total_increasing(units: str) -> None:
    """Total and the period totals suit the Energy dashboard in every UNITS choice."""
    configs = sensor_config(units, "device")
    for key in ENERGY_KEYS:
        assert configs[key]["device_class"] == "water"
        assert configs[key]["state_class"] == "total_increasing"
        assert configs[key]["unit_of_measurement"] in ENERGY_UNITS
    for key in ("last_60_min", "last_24_hours"):
        assert configs[key]["device_class"] == "water"
        assert "state_class" not in configs[key]
    flow = configs["flow_rate"]
    assert (flow["device_class"], flow["state_class"]) == (
        "volume_flow_rate",
        "measurement",
    )


@pytest.mark.parametrize(
    ("units", "volume", "flow"),
    [
        ("gallons", "gal", "gal/min"),
        ("liters", "L", "L/min"),
        ("cubic_feet", "ft³", "ft³/min"),
        ("cubic_meters", "m³", "m³/h"),
    ],
)
def test_units_are_the_exact_strings_of_the_choice(
    units: str, volume: str, flow: str
) -> None:
    """Discovery and the state JSON name the same units, with exact superscripts."""
    made = builder(units=units)
    configs = sensor_config(units, "device")
    assert configs["total"]["unit_of_measurement"] == volume
    assert configs["flow_rate"]["unit_of_measurement"] == flow
    state = payload(device_state(made, SENSOR, NOW))
    assert (state["unit"], state["flow_unit"]) == (volume, flow)


@pytest.mark.parametrize("schema", SCHEMAS)
def test_ids_are_valid_and_entity_ids_use_default_entity_id(schema: str) -> None:
    """Ids match [a-zA-Z0-9_-], default_entity_id is set, object_id never is."""
    for message in builder(ha_discovery_schema=schema).discovery.configs([HUB, SENSOR]):
        assert all(HA_ID.fullmatch(part) for part in message.topic.split("/"))
        for _key, config in components(message):
            assert HA_ID.fullmatch(config["unique_id"])
            assert ENTITY_ID.fullmatch(config["default_entity_id"])
            assert "object_id" not in config


def test_entity_ids_stay_valid_with_an_unusual_base_topic() -> None:
    """A base topic with `/` and `-` still gives valid ids and entity ids."""
    made = builder(mqtt_base_topic="home/Flume-2")
    (service, *_) = made.discovery.configs([])
    assert service.topic == "homeassistant/device/flume_mqtt_home_Flume-2/config"
    for _key, config in components(service):
        assert ENTITY_ID.fullmatch(config["default_entity_id"])
        assert config["unique_id"].startswith("flume_mqtt_home_Flume-2_")


@pytest.mark.parametrize("schema", SCHEMAS)
def test_availability_is_the_service_and_the_device_with_mode_all(schema: str) -> None:
    """Sensor readings need both the service and the device; diagnostics the service."""
    configs = sensor_config("gallons", schema)
    both = [{"topic": "flume/status"}, {"topic": f"flume/{SENSOR.id}/availability"}]
    for key, config in configs.items():
        assert "availability_topic" not in config
        if key in ("connected", "last_seen"):
            assert config["availability"] == [{"topic": "flume/status"}]
            assert config["entity_category"] == "diagnostic"
        else:
            assert config["availability"] == both, key
            assert config["availability_mode"] == "all"


def test_each_value_template_reads_a_field_of_the_state_json() -> None:
    """Every sensor entity reads `value_json.<field>` of the JSON the state carries."""
    fields = set(payload(device_state(builder(), SENSOR, NOW)))
    hub_fields = set(payload(device_state(builder(), HUB, NOW)))
    for key, config in all_components("gallons", "device"):
        template = config.get("value_template")
        if config.get("state_topic") == f"flume/{SENSOR.id}/state":
            field = key
            if key == "last_session_volume":  # a field of a nested object
                assert template == SESSION_VOLUME
                field = "last_session"
            else:
                assert template == f"{{{{ value_json.{key} }}}}"
            assert field in fields
        elif config.get("state_topic") == f"flume/{HUB.id}/state":
            assert key in hub_fields
    assert fields == set(DESIGN_STATE)


def test_device_config_has_origin_device_block_and_components() -> None:
    """The device-based config carries origin, a full device block and `cmps`."""
    service, hub, sensor = builder().discovery.configs([HUB, SENSOR])
    assert sensor.topic == f"homeassistant/device/flume_{SENSOR.id}/config"
    assert sensor.retain
    assert sensor.qos == 1
    config = payload(sensor)
    assert config["origin"] == {"name": "flume-mqtt", "sw_version": "1.2.3"}
    assert config["device"] == {
        "identifiers": [f"flume_{SENSOR.id}"],
        "name": "Flume Home",
        "manufacturer": "Flume",
        "model": "Water sensor",
        "serial_number": SENSOR.id,
        "configuration_url": "https://portal.flumewater.com",
        "model_id": "flume2",
        "via_device": f"flume_{HUB.id}",
    }
    assert all(c["platform"] for c in config["cmps"].values())
    assert payload(hub)["device"]["via_device"] == "flume_mqtt"
    assert set(payload(hub)["cmps"]) == {"connected", "last_seen"}
    assert payload(service)["device"]["identifiers"] == ["flume_mqtt"]


def test_service_device_has_status_requests_and_two_buttons() -> None:
    """The service device shows its status and requests, and offers two commands."""
    (service,) = builder().discovery.configs([])
    cmps = payload(service)["cmps"]
    assert set(cmps) == {"status", "requests_used", "refresh", "republish"}
    assert cmps["status"]["state_topic"] == "flume/status"
    assert (cmps["status"]["payload_on"], cmps["status"]["payload_off"]) == (
        "online",
        "offline",
    )
    assert "availability" not in cmps["status"]
    assert cmps["requests_used"]["state_topic"] == "flume/diagnostics"
    assert cmps["requests_used"]["value_template"] == (
        "{{ value_json.requests_last_hour }}"
    )
    assert cmps["refresh"]["command_topic"] == "flume/command/refresh"
    assert cmps["republish"]["command_topic"] == "flume/command/republish"
    assert cmps["refresh"]["platform"] == "button"


def test_component_schema_has_one_config_per_entity() -> None:
    """Per-entity configs sit at <prefix>/<platform>/flume_<id>/<key>/config."""
    messages = builder(ha_discovery_schema="component").discovery.configs([SENSOR])
    topics = {m.topic for m in messages}
    assert f"homeassistant/sensor/flume_{SENSOR.id}/today/config" in topics
    assert f"homeassistant/binary_sensor/flume_{SENSOR.id}/leak/config" in topics
    assert "homeassistant/button/flume_mqtt/refresh/config" in topics
    for message in messages:
        config = payload(message)
        assert "platform" not in config
        assert config["origin"]["name"] == "flume-mqtt"
        assert message.topic.split("/")[1] == config["default_entity_id"].split(".")[0]
    # The same entities as the device schema, config for config, except the flow
    # rate's device class, which Home Assistant before 2024 does not know.
    device = {c["unique_id"]: c for _k, c in all_components("gallons", "device")}
    for key, config in all_components("gallons", "component"):
        same = device[config["unique_id"]]
        older = {"device_class"} if key == "flow_rate" else set()
        assert {**config, "platform": same["platform"]} == {
            **{k: v for k, v in same.items() if k not in older},
            "device": config["device"],
            "origin": config["origin"],
        }


def test_a_sensor_without_its_bridge_links_to_the_service() -> None:
    """When its Flume Bridge is not discovered, a sensor hangs off the service."""
    (_service, sensor) = builder().discovery.configs([SENSOR])
    assert payload(sensor)["device"]["via_device"] == "flume_mqtt"


def test_no_discovery_when_ha_discovery_is_off() -> None:
    """HA_DISCOVERY=false publishes no config at all."""
    assert builder(ha_discovery=False).discovery.configs([HUB, SENSOR]) == []


def test_removal_empties_every_config_and_the_device_topics() -> None:
    """A device that left gets empty retained configs (both schemas) and topics."""
    removed = builder().discovery.removals([SENSOR.id])
    assert all(m.payload == b"" and m.retain for m in removed)
    topics = {m.topic for m in removed}
    for schema in SCHEMAS:
        made = builder(ha_discovery_schema=schema)
        configs = {m.topic for m in made.discovery.configs([SENSOR])}
        assert configs - topics == {t for t in configs if "flume_mqtt" in t}, (
            "every config of the sensor is emptied, the service's kept"
        )
    assert {f"flume/{SENSOR.id}/state", f"flume/{SENSOR.id}/availability"} <= topics


def test_the_design_state_example_round_trips() -> None:
    """A full sensor state is DESIGN §5's JSON, field for field and in its order."""
    state = SensorState(
        **{
            **DESIGN_STATE,
            "updated_at": NOW,
            "total_since": datetime(2026, 11, 1, 8, tzinfo=UTC),
            "total_through": datetime(2026, 11, 28, 12, 31, tzinfo=UTC),
            "last_seen": SEEN,
        }
    )
    message = builder().payloads.state(state)
    assert message.topic == f"flume/{SENSOR.id}/state"
    assert message.retain
    assert message.qos == 1
    assert list(payload(message).items()) == list(DESIGN_STATE.items())


def test_a_state_from_the_device_list_has_nulls_not_zeros() -> None:
    """Usage the bridge has not read is null; the device list's facts are filled."""
    state = payload(device_state(builder(), SENSOR, NOW))
    assert state["updated_at"] == "2026-11-28T12:34:00Z"
    assert state["connected"] is True
    assert state["last_seen"] == "2026-11-28T12:33:40Z"
    assert (state["battery_level"], state["low_battery"]) == ("high", False)
    for key in ("flow_rate", "flowing", "today", "total", "leak", "total_since"):
        assert state[key] is None, key
    hub = payload(device_state(builder(), HUB, NOW))
    assert hub == {
        "device_id": HUB.id,
        "connected": True,
        "last_seen": "2026-11-28T12:33:40Z",
    }


def test_a_state_in_other_units_is_refused() -> None:
    """A gallons state under UNITS=liters would corrupt HA's statistics: refused."""
    state = SensorState(device_id="1", unit="gal", flow_unit="gal/min")
    with pytest.raises(ValueError, match="UNITS is L and L/min"):
        builder(units="liters").payloads.state(state)


def test_a_naive_time_is_refused() -> None:
    """A time without a zone cannot be told in UTC: refused, not guessed."""
    state = BridgeState("1", True, datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="naive"):
        builder().payloads.state(state)


def test_status_and_availability_are_retained_words() -> None:
    """Status and availability are retained `online`/`offline` at QoS 1."""
    made = builder(mqtt_base_topic="home/flume")
    assert made.payloads.status(True) == Message("home/flume/status", b"online", True)
    assert made.payloads.status(False).payload == b"offline"
    offline = made.payloads.availability("42", False)
    assert offline == Message("home/flume/42/availability", b"offline", True, 1)

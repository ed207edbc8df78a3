"""The README's Node-RED flow and troubleshooting stay true to the bridge."""

from __future__ import annotations

import json
import re
from typing import Any

from bridge import cli
from bridge.config import Settings
from bridge.contract import Topics
from bridge.models import SensorState
from tests.unit.test_readme import ROOT, section


def flow() -> dict[str, dict[str, Any]]:
    """The Node-RED section's one JSON block, as nodes by id."""
    blocks = re.findall(r"^```json\n(.*?)^```", section("Node-RED"), re.M | re.S)
    assert len(blocks) == 1
    nodes = json.loads(blocks[0])
    by_id = {node["id"]: node for node in nodes}
    assert len(by_id) == len(nodes), "node ids must be unique"
    return by_id


def of_type(nodes: dict[str, dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [node for node in nodes.values() if node["type"] == kind]
    assert len(found) == 1, kind
    return found[0]


def test_the_flow_is_mqtt_in_then_function_then_debug() -> None:
    """States flow from `mqtt in` through the function to `debug`, and no further."""
    nodes = flow()
    assert sorted(node["type"] for node in nodes.values()) == [
        "debug", "function", "mqtt in", "mqtt-broker",
    ]  # fmt: skip
    source, function = of_type(nodes, "mqtt in"), of_type(nodes, "function")
    sink = of_type(nodes, "debug")
    assert source["wires"] == [[function["id"]]]
    assert function["wires"] == [[sink["id"]]]
    assert function["outputs"] == 1
    assert sink["wires"] == []


def test_the_flow_subscribes_to_the_state_topics_on_localhost() -> None:
    """`mqtt in` reads `flume/+/state` as JSON from a broker node on localhost:1883."""
    nodes = flow()
    source, broker = of_type(nodes, "mqtt in"), of_type(nodes, "mqtt-broker")
    assert (
        source["topic"] == Topics.of(Settings()).device_filters()[0] == "flume/+/state"
    )
    assert source["datatype"] == "json"
    assert source["broker"] == broker["id"]
    assert (broker["broker"], broker["port"]) == ("localhost", "1883")
    assert "wires" not in broker  # a config node


def test_the_function_reads_only_state_fields_and_acts_on_leak() -> None:
    """Every `state.<field>` the function reads is a field of the sensor state."""
    code = of_type(flow(), "function")["func"]
    used = set(re.findall(r"\bstate\.(\w+)", code))
    assert "leak" in used
    assert used <= set(SensorState.__dataclass_fields__)
    assert "return msg;" in code


def test_troubleshooting_lists_the_exit_codes_in_order() -> None:
    """The exit statuses are the command line's, smallest first."""
    text = section("Troubleshooting")
    codes = [int(code) for code in re.findall(r"^- \*\*(\d+), ", text, re.M)]
    assert codes == [0, cli.EXIT_FAILURE, cli.EXIT_USAGE, cli.EXIT_CONFIG]
    unit = (ROOT / "systemd/flume-mqtt.service").read_text()
    assert f"RestartPreventExitStatus={cli.EXIT_CONFIG}" in unit
    assert f"RestartPreventExitStatus={cli.EXIT_CONFIG}" in text


def test_troubleshooting_names_only_real_settings() -> None:
    """Each variable the section names is one of the bridge's settings."""
    named = set(
        re.findall(r"`([A-Z][A-Z0-9]*_[A-Z0-9_]+)`", section("Troubleshooting"))
    )
    assert {"MQTT_CLIENT_ID", "FLUME_REQUESTS_PER_HOUR", "HA_DISCOVERY_PREFIX"} <= named
    assert named <= {name.upper() for name in Settings.model_fields}


def test_the_readme_sections_come_in_the_house_order() -> None:
    """Home Assistant, then Node-RED, then Troubleshooting."""
    titles = re.findall(r"^## (.+)$", (ROOT / "README.md").read_text(), re.M)
    order = [titles.index(t) for t in ("Home Assistant", "Node-RED", "Troubleshooting")]
    assert order == sorted(order)

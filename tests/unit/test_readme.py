"""The README stays true: two quick-start commands, tables in step with the code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    """Return the text of one `## title` section."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```\w*\n(.*?)^```", text, re.M | re.S)


def table_names(text: str) -> set[str]:
    """Every `NAME` in the first column of the markdown tables of `text`."""
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def test_quick_start_has_exactly_the_two_commands() -> None:
    """The quick start shows `make demo` and `make test` and nothing else to type."""
    blocks = code_blocks(section("Quick start"))
    assert [line for b in blocks for line in b.splitlines() if line.strip()] == [
        "make demo",
        "make test",
    ]


def test_configuration_table_matches_env_example_and_settings() -> None:
    """The README table, .env.example and Settings name the same variables."""
    from bridge.config import Settings

    example = (ROOT / ".env.example").read_text()
    in_example = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", example, re.M))
    fields = {name.upper() for name in Settings.model_fields}
    assert table_names(section("Configuration")) == in_example == fields


def test_simulator_options_table_matches_the_command() -> None:
    """Every `simulate` option is in the README's table, and nothing else is."""
    import argparse

    from bridge.simulator.cli import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    flags = {flag for action in parser._actions for flag in action.option_strings}
    table = section("The Flume simulator").split("### ", 1)[0]
    documented = set(re.findall(r"`(--[a-z-]+)", table))
    assert documented == flags - {"-h", "--help"}


def json_blocks(title: str) -> list[Any]:
    """The ```json blocks of a section, parsed."""
    text = section(title)
    return [
        json.loads(b) for b in re.findall(r"^```json\n(.*?)^```", text, re.M | re.S)
    ]


def test_home_assistant_tables_list_every_entity() -> None:
    """The entity tables name each entity's key, platform and device class."""
    from bridge.contract.entities import SENSOR_ENTITIES, SERVICE_ENTITIES

    rows = {}
    for line in section("Home Assistant").splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) >= 4 and cells[1].startswith("`"):
            rows[cells[1].strip("`")] = cells
    for entity in (*SENSOR_ENTITIES, *SERVICE_ENTITIES):
        name, _key, platform, what = rows.pop(entity.key)[:4]
        assert (name, platform) == (entity.name, entity.platform)
        if entity.device_class:
            assert what.startswith(f"`{entity.device_class}`"), entity.key
    assert rows == {}


def test_payload_examples_are_what_the_bridge_builds() -> None:
    """The README's config examples are the builder's output for those devices."""
    from datetime import UTC, datetime

    from bridge.config import Settings
    from bridge.contract import Contract
    from bridge.models import Device, Location, SensorState

    state, hub_state, _event, _diagnostics = json_blocks("Topics and payloads")
    assert list(state) == list(SensorState.__dataclass_fields__)
    assert list(hub_state) == ["device_id", "connected", "last_seen"]
    sensor_config, button = json_blocks("Home Assistant")
    home = Location(1, "Home", "UTC")
    seen = datetime(2026, 11, 28, 12, 33, 40, tzinfo=UTC)
    hub = Device(hub_state["device_id"], 1, 1, home, connected=True, last_seen=seen)
    sensor = Device(state["device_id"], 2, 1, home, bridge_id=hub.id, product="flume2")
    built = Contract.of(Settings(), version="0.1.0").discovery.configs([hub, sensor])
    service, real = (json.loads(m.payload) for m in (built[0], built[2]))
    assert sensor_config["device"] == real["device"]
    assert sensor_config["origin"] == real["origin"]
    for key, component in sensor_config["cmps"].items():
        assert component == real["cmps"][key]
    assert button == service["cmps"]["refresh"]

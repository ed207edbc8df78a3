"""Imports point one way: every import of `bridge` follows the layers, top to bottom."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "bridge"

# The layers, top first (STYLE.md): a module imports its own unit, or units of the
# layers below its own. Within a layer, only the edges of SIDEWAYS.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("bridge.__main__",),
    ("bridge.cli",),
    ("bridge.commands",),
    ("bridge.app",),
    ("bridge.service",),
    (
        "bridge.flume",
        "bridge.meter",
        "bridge.alerts",
        "bridge.mqtt",
        "bridge.contract",
    ),
    ("bridge.config", "bridge.statefile"),
    ("bridge.models", "bridge.errors", "bridge"),  # `bridge` itself: its __version__
)
SIDEWAYS = {("bridge.mqtt", "bridge.contract")}  # the publisher's topics and payloads
SIMULATOR = "bridge.simulator"  # imports nothing else of bridge ...
SIMULATOR_DOOR = "bridge.commands.simulate"  # ... and only this module imports it
# Third-party libraries and the only units allowed to import them.
THIRD_PARTY = {
    "requests": ("bridge.flume",),
    "paho": ("bridge.mqtt",),
    "schedule": ("bridge.service.timetable",),
    "pydantic": ("bridge.config", "bridge.flume"),
    "pydantic_settings": ("bridge.config",),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module named by an import, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def unit_of(name: str) -> tuple[int, str]:
    """The layer (0 at the top) and the unit of a module of `bridge`."""
    found = [
        (rank, unit)
        for rank, units in enumerate(LAYERS)
        for unit in units
        if within(name, unit) and unit != "bridge"
    ]
    return max(found, key=lambda f: len(f[1])) if found else (len(LAYERS) - 1, "bridge")


MODULES = {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def violations(module: str, imported: set[str]) -> list[str]:
    found = []
    for name in sorted(imported):
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or top == "__future__":
            continue
        if top == "bridge":
            found += _bridge_import(module, name)
            continue
        allowed = THIRD_PARTY.get(top)
        if allowed is None or not any(within(module, a) for a in allowed):
            found.append(f"{module} -> {name}: not allowed here")
    return found


def _bridge_import(module: str, name: str) -> list[str]:
    if within(module, SIMULATOR) or within(name, SIMULATOR):
        independent = within(module, SIMULATOR) == within(name, SIMULATOR)
        if independent or module == SIMULATOR_DOOR:
            return []
        return [f"{module} -> {name}: the simulator must stay independent"]
    (rank, unit), (their_rank, theirs) = unit_of(module), unit_of(name)
    if unit == theirs or their_rank > rank or (unit, theirs) in SIDEWAYS:
        return []
    return [f"{module} -> {name}: {theirs} is not below {unit}"]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_imports_follow_the_layering(module: str) -> None:
    """The module imports the standard library, what its layer may use, and below."""
    assert violations(module, MODULES[module]) == []


def test_every_module_has_a_layer() -> None:
    """No module of the bridge falls outside the table (it would sit at the bottom)."""
    assert [
        m for m in MODULES if not within(m, SIMULATOR) and unit_of(m)[1] == "bridge"
    ] == ["bridge"]


def test_a_service_module_importing_a_command_is_reported() -> None:
    """The service may not reach up to the commands (or the composition root)."""
    found = violations("bridge.service.jobs", {"bridge.commands.check", "bridge.app"})
    assert found == [
        "bridge.service.jobs -> bridge.app: bridge.app is not below bridge.service",
        "bridge.service.jobs -> bridge.commands.check: bridge.commands is not below "
        "bridge.service",
    ]


def test_requests_outside_the_flume_package_is_reported() -> None:
    """Only bridge.flume speaks HTTP."""
    assert violations("bridge.app", {"requests"}) == [
        "bridge.app -> requests: not allowed here"
    ]
    assert violations("bridge.commands.check", {"requests.exceptions"}) == [
        "bridge.commands.check -> requests.exceptions: not allowed here"
    ]


def test_the_contract_importing_the_mqtt_client_is_reported() -> None:
    """The contract is pure: neither the MQTT package nor paho."""
    found = violations("bridge.contract.topics", {"bridge.mqtt.client", "paho.mqtt"})
    assert found == [
        "bridge.contract.topics -> bridge.mqtt.client: bridge.mqtt is not below "
        "bridge.contract",
        "bridge.contract.topics -> paho.mqtt: not allowed here",
    ]


def test_the_simulator_stays_independent() -> None:
    """It imports nothing of the bridge; only the simulate command imports it."""
    assert violations("bridge.simulator.server", {"bridge.flume.client"}) == [
        "bridge.simulator.server -> bridge.flume.client: "
        "the simulator must stay independent"
    ]
    assert violations("bridge.commands.run", {"bridge.simulator.server"}) == [
        "bridge.commands.run -> bridge.simulator.server: "
        "the simulator must stay independent"
    ]
    assert violations(SIMULATOR_DOOR, {"bridge.simulator.server"}) == []


def test_the_rules_catch_a_violation() -> None:
    """A simulator module importing the bridge's own client is reported."""
    found = violations("bridge.simulator.server", {"bridge.flume.client", "requests"})
    assert found == [
        "bridge.simulator.server -> bridge.flume.client: "
        "the simulator must stay independent",
        "bridge.simulator.server -> requests: not allowed here",
    ]

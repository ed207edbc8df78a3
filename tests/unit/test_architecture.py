"""Imports point one way: each module imports only what its layer allows."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "bridge"

# Third-party libraries and the only modules allowed to import them.
THIRD_PARTY = {
    # cli (and the command bodies it calls, and runner for `run`) builds the Session
    # it injects
    "requests": ("bridge.flume", "bridge.cli", "bridge.commands", "bridge.runner"),
    "paho": ("bridge.mqtt",),
    "schedule": ("bridge.service",),
    "pydantic": ("bridge.config", "bridge.flume"),
    "pydantic_settings": ("bridge.config",),
}
# Modules of our own that may not import anything else from `bridge`.
LEAVES = ("bridge.models", "bridge.errors")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


MODULES = {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def violations(module: str, imported: set[str]) -> list[str]:
    found = []
    for name in sorted(imported):
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or top == "__future__":
            continue
        if top == "bridge":
            if within(module, "bridge.simulator") and not within(
                name, "bridge.simulator"
            ):
                found.append(f"{module} -> {name}: the simulator must stay independent")
            if module in LEAVES and name != "bridge":
                found.append(f"{module} -> {name}: {module} is a leaf")
            continue
        allowed = THIRD_PARTY.get(top)
        if allowed is None or not any(within(module, a) for a in allowed):
            found.append(f"{module} -> {name}: not allowed here")
    return found


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_imports_follow_the_layering(module: str) -> None:
    """The module imports only the standard library and what its layer may use."""
    assert violations(module, MODULES[module]) == []


def test_the_rules_catch_a_violation() -> None:
    """A simulator module importing the bridge's own client is reported."""
    found = violations("bridge.simulator.server", {"bridge.flume.client", "requests"})
    assert found == [
        "bridge.simulator.server -> bridge.flume.client: "
        "the simulator must stay independent",
        "bridge.simulator.server -> requests: not allowed here",
    ]

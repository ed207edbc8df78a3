"""The MQTT discovery keys each Home Assistant release accepts, read from its wheel.

`python -m tests.support.ha_schemas WHEEL ...` reads `homeassistant/components/mqtt/`
of each `homeassistant-<release>-py3-none-any.whl` (`pip download --no-deps
--only-binary=:all: --python-version 3.12 homeassistant==2024.3.3`) with `ast`, never
importing it, and prints the key lists that tests/data/ha_mqtt_keys.json vendors: for
the device and origin blocks (strict `vol.Schema`s: an unknown key fails the whole
config), an availability entry, and the sensor, binary_sensor, button and switch
platforms (their discovery schemas drop unknown keys with `vol.REMOVE_EXTRA`).
"""

from __future__ import annotations

import ast
import json
import re
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

MQTT = "homeassistant/components/mqtt/"
PLATFORMS = ("sensor", "binary_sensor", "button", "switch")
CONSTANTS = (
    "homeassistant/const.py",
    "homeassistant/helpers/",
    MQTT,
    *(f"homeassistant/components/{platform}/" for platform in PLATFORMS),
)
# The values HA checks in a config: `device_class` by platform, and the two below.
ENUMS = {
    "sensor": "SensorDeviceClass",
    "binary_sensor": "BinarySensorDeviceClass",
    "button": "ButtonDeviceClass",
    "switch": "SwitchDeviceClass",
    "state_class": "SensorStateClass",
    "entity_category": "EntityCategory",
}
# A schema's keys are those of vol.Optional/Required/Exclusive/Inclusive markers.
MARKERS = {"Optional", "Required", "Exclusive", "Inclusive"}


class Release:
    """One release's MQTT modules: module-level names and string constants."""

    def __init__(self, wheel: Path) -> None:
        self.name = re.sub(r"^homeassistant-([^-]+)-.*$", r"\1", wheel.name)
        self.definitions: dict[str, ast.expr] = {}
        self.strings: dict[str, str] = {}
        self.enums: dict[str, list[str]] = {}
        with zipfile.ZipFile(wheel) as archive:
            for path in archive.namelist():
                if path.endswith(".py") and path.startswith(CONSTANTS):
                    self._read(_parse(archive.read(path)), path.startswith(MQTT))
        # `CONF_QOS = ATTR_QOS`: a constant named after another one.
        for name, value in list(self.definitions.items()):
            if isinstance(value, ast.Name) and value.id in self.strings:
                self.strings.setdefault(name, self.strings[value.id])

    def _read(self, tree: ast.Module, mqtt: bool) -> None:
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name in ENUMS.values():
                self.enums.setdefault(node.name, _enum_values(node))
            target, value = _assignment(node)
            if target is None or value is None:
                continue
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                self.strings.setdefault(target, value.value)
            elif mqtt:
                self.definitions.setdefault(target, value)

    def keys(self, name: str) -> tuple[set[str], set[str]]:
        """The keys and the required keys of the schema bound to `name`."""
        return self._keys(self.definitions[name], set())

    def _keys(self, node: ast.expr, seen: set[str]) -> tuple[set[str], set[str]]:
        keys: set[str] = set()
        required: set[str] = set()
        for part in _schema_parts(node):
            if isinstance(part, ast.Dict):
                for key in part.keys:
                    name, needed = self._marker(key)
                    if name is not None:
                        keys.add(name)
                        if needed:
                            required.add(name)
            elif isinstance(part, ast.Name) and part.id in self.definitions:
                if part.id in seen:
                    continue
                more, more_required = self._keys(
                    self.definitions[part.id], seen | {part.id}
                )
                keys |= more
                required |= more_required
        return keys, required

    def _marker(self, key: ast.expr | None) -> tuple[str | None, bool]:
        if not (isinstance(key, ast.Call) and isinstance(key.func, ast.Attribute)):
            return None, False
        if key.func.attr not in MARKERS or not key.args:
            return None, False
        name = key.args[0]
        if isinstance(name, ast.Constant) and isinstance(name.value, str):
            return name.value, key.func.attr == "Required"
        if isinstance(name, ast.Name) and name.id in self.strings:
            return self.strings[name.id], key.func.attr == "Required"
        return None, False

    def entries(self, name: str, key: str) -> set[str]:
        """The keys of the dicts listed under `key` (`[{...}]`) in schema `name`."""
        for part in _schema_parts(self.definitions[name]):
            if isinstance(part, ast.Name) and part.id in self.definitions:
                found = self.entries(part.id, key)
                if found:
                    return found
            if not isinstance(part, ast.Dict):
                continue
            for marker, value in zip(part.keys, part.values, strict=True):
                if self._marker(marker)[0] != key:
                    continue
                for node in ast.walk(value):
                    if isinstance(node, ast.List) and node.elts:
                        return self._keys(node.elts[0], set())[0]
        return set()

    def nested(self, name: str, key: str) -> str | None:
        """The name of the schema under `key` in the schema bound to `name`."""
        for part in _schema_parts(self.definitions[name]):
            if isinstance(part, ast.Dict):
                for marker, value in zip(part.keys, part.values, strict=True):
                    if self._marker(marker)[0] == key and isinstance(value, ast.Name):
                        return value.id
            elif isinstance(part, ast.Name) and part.id in self.definitions:
                found = self.nested(part.id, key)
                if found is not None:
                    return found
        return None


def _parse(source: bytes) -> ast.Module:
    """The module, or an empty one when it holds syntax newer than ours.

    Python 3.12's `type X = ...` aliases are read as plain assignments first.
    """
    text = re.sub(
        r"^(\s*)type (\w+)(\[[^\]]*\])? = ", r"\1\2 = ", source.decode(), flags=re.M
    )
    try:
        return ast.parse(text)
    except SyntaxError:  # a module we do not need (generics of PEP 695, ...)
        return ast.Module(body=[], type_ignores=[])


def _enum_values(node: ast.ClassDef) -> list[str]:
    values = (_assignment(statement)[1] for statement in node.body)
    return sorted(
        value.value
        for value in values
        if isinstance(value, ast.Constant) and isinstance(value.value, str)
    )


def _assignment(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return (target.id if isinstance(target, ast.Name) else None), node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    return None, None


def _schema_parts(node: ast.expr) -> Iterator[ast.expr]:
    """The dicts and named schemas a schema expression is made of (not nested ones)."""
    if isinstance(node, ast.Dict | ast.Name):
        yield node
    elif isinstance(node, ast.Attribute) and node.attr == "schema":
        yield from _schema_parts(node.value)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "extend":
            yield from _schema_parts(node.func.value)
        if node.func.attr in ("extend", "Schema", "All"):
            for arg in node.args:
                yield from _schema_parts(arg)


def derive(wheel: Path) -> tuple[str, dict[str, object]]:
    """The key lists of one release."""
    release = Release(wheel)
    common = "MQTT_ENTITY_COMMON_SCHEMA"
    device = release.nested(common, "device")
    origin = release.nested(common, "origin")
    platforms: dict[str, object] = {}
    for platform in PLATFORMS:
        schema = "_PLATFORM_SCHEMA_BASE" if platform == "sensor" else ""
        schema = schema if schema in release.definitions else "PLATFORM_SCHEMA_MODERN"
        # Each platform module defines its own; the last one read is not this one's.
        keys, required, extra = _platform_keys(wheel, platform, schema)
        platforms[platform] = {
            "keys": sorted(keys),
            "required": sorted(required),
            "unknown_keys": extra,
        }
    found: dict[str, object] = {
        "device": sorted(release.keys(device)[0]) if device else None,
        "origin": sorted(release.keys(origin)[0]) if origin else None,
        "availability": sorted(release.entries(common, "availability")),
        # Device-based discovery (`<prefix>/device/<id>/config`) came with `components`.
        "device_discovery": release.strings.get("CONF_COMPONENTS") == "components",
        "platforms": platforms,
        "values": {name: release.enums.get(enum) for name, enum in ENUMS.items()},
    }
    return release.name, found


def _platform_keys(
    wheel: Path, platform: str, schema: str
) -> tuple[set[str], set[str], str]:
    """Its keys, required keys, and what its discovery schema does with others."""
    release = Release(wheel)
    with zipfile.ZipFile(wheel) as archive:
        tree = _parse(archive.read(f"{MQTT}{platform}.py"))
    for node in tree.body:  # this platform's own definitions win
        target, value = _assignment(node)
        if target is not None and value is not None:
            release.definitions[target] = value
    discovery = ast.dump(release.definitions["DISCOVERY_SCHEMA"])
    extra = "dropped" if "REMOVE_EXTRA" in discovery else "rejected"
    return (*release.keys(schema), extra)


def main(wheels: list[str]) -> int:
    """Print the key lists of each wheel's release as JSON."""
    found = dict(derive(Path(wheel)) for wheel in wheels)
    about = "derived by tests/support/ha_schemas.py from " + ", ".join(
        Path(wheel).name for wheel in sorted(wheels)
    )
    text = json.dumps({"about": about, "releases": found}, indent=1, sort_keys=True)
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

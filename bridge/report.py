"""The `check` report: which devices are bridged and how the result reads (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from bridge.models import BRIDGE, SENSOR, Device

KINDS: Final = {SENSOR: "sensor", BRIDGE: "bridge"}


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What `check` found, ready to print."""

    version: str
    settings_source: str  # e.g. ".env" or "environment only"
    api_url: str
    username: str
    user_id: int
    devices: Sequence[Device]  # every device of the account
    selected: Sequence[Device]  # the ones the bridge will serve
    plan: str  # the planner's one-line description
    state_dir: str
    state_writable: bool
    broker: str | None = None  # how the probe connected, e.g. "host:1883 (no TLS, ...)"
    broker_error: str | None = None  # why it could not


def select_devices(
    devices: Sequence[Device], wanted: Sequence[str]
) -> tuple[list[Device], list[str]]:
    """Return the devices FLUME_DEVICE_IDS selects (all when empty) and unknown ids."""
    if not wanted:
        return list(devices), []
    known = {device.id for device in devices}
    chosen = [device for device in devices if device.id in wanted]
    return chosen, [device_id for device_id in wanted if device_id not in known]


def render(report: CheckReport) -> str:
    """The report as a few aligned lines; the last one says whether it passed."""
    state = "writable" if report.state_writable else "NOT writable"
    found = problems(report)
    lines = [
        f"flume-mqtt {report.version} check",
        f"config   ok ({report.settings_source})",
        f"state    {report.state_dir} ({state})",
        f"flume    ok: logged in to {report.api_url} as {report.username} "
        f"(user {report.user_id})",
        f"devices  {_count(report.selected, SENSOR)}, {_count(report.selected, BRIDGE)}"
        + _skipped(report),
        *(f"  {_device(device)}" for device in report.selected),
        f"plan     {report.plan}",
        f"mqtt     {_broker(report)}",
        f"result   FAILED: {'; '.join(found)}" if found else "result   ok",
    ]
    return "\n".join(lines)


def problems(report: CheckReport) -> list[str]:
    """What would stop `run` from doing its job; empty when the check passed."""
    found = []
    if not report.state_writable:
        found.append(f"STATE_DIR {report.state_dir} is not writable")
    if not any(device.is_sensor for device in report.selected):
        found.append("no water sensor to bridge")
    if report.broker_error is not None:
        found.append("the MQTT broker is not reachable")
    elif report.broker is None:
        found.append("the MQTT broker was not checked")
    return found


def _broker(report: CheckReport) -> str:
    if report.broker_error is not None:
        return f"FAILED: {report.broker_error}"
    if report.broker is None:
        return "not checked"
    return f"ok: connected to {report.broker}"


def _count(devices: Sequence[Device], kind: int) -> str:
    number = sum(1 for device in devices if device.type == kind)
    noun = {SENSOR: "water sensor", BRIDGE: "Flume Bridge"}[kind]
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _skipped(report: CheckReport) -> str:
    skipped = len(report.devices) - len(report.selected)
    return f" ({skipped} more not in FLUME_DEVICE_IDS)" if skipped else ""


def _device(device: Device) -> str:
    kind = KINDS.get(device.type, f"type {device.type}")
    where = (
        f"{device.location.name} ({device.location.tz})"
        if device.location is not None
        else "no location (timezone unknown)"
    )
    facts = [_connected(device.connected)]
    if device.battery_level is not None:
        facts.append(f"battery {device.battery_level}")
    if device.last_seen is not None:
        facts.append(f"last seen {_when(device.last_seen)}")
    return f"{kind:<6} {device.id}  {where}  {', '.join(facts)}"


def _connected(connected: bool | None) -> str:
    return {True: "connected", False: "NOT connected", None: "connection unknown"}[
        connected
    ]


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()

"""`flume-mqtt check`: settings, broker, Flume login, devices and plan, as a report."""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Final

import bridge
from bridge import app, mqtt
from bridge.config import Settings
from bridge.errors import MqttAuthError, MqttError
from bridge.flume.client import served
from bridge.flume.planner import plan
from bridge.models import BRIDGE, SENSOR, Device

KINDS: Final = {SENSOR: "sensor", BRIDGE: "bridge"}
SCHEMAS: Final = {
    "device": "device schema, for Home Assistant 2024.11 and later "
    "(before 2024.11: HA_DISCOVERY_SCHEMA=component)",
    "component": "component schema, for Home Assistant 2023.1 and later, and openHAB",
}


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
    discovery: str | None = None  # the discovery schema, and which releases take it


def check(settings: Settings, source: str) -> CheckReport:
    """Probe the broker, then Flume (refused credentials end it before a Flume login).

    Raises:
        MqttAuthError: the broker refused the credentials or a certificate.
        ConfigError: FLUME_DEVICE_IDS names a device the account does not have.
        FlumeAuthError: Flume refused the client or the account.
        FlumeError: Flume could not be reached or answered nonsense.
    """
    broker, broker_error = probe_broker(settings)
    report = probe_flume(settings, source)
    return replace(report, broker=broker, broker_error=broker_error)


def probe_broker(settings: Settings) -> tuple[str | None, str | None]:
    """Connect to the broker as the service would: how it went, or why it did not.

    Raises:
        MqttAuthError: the broker refused the credentials or a certificate.
    """
    try:
        return mqtt.probe(settings), None
    except MqttAuthError:
        raise
    except MqttError as error:  # unreachable: a FAILED line in the report, exit 1
        return None, str(error)


def probe_flume(settings: Settings, source: str) -> CheckReport:
    """Log in, list the devices and plan the requests, within the hourly budget."""
    login = app.credentials(settings)
    with closing(app.account(settings, login, saved_token=False)) as client:
        devices = client.devices()
        user_id = client.user_id
    selected = served(devices, settings.flume_device_ids)
    sensors = sum(1 for device in selected if device.is_sensor)
    budgeted = plan(settings.flume_requests_per_hour, sensors) if sensors else None
    return CheckReport(
        version=bridge.__version__,
        settings_source=source,
        api_url=settings.flume_api_url,
        username=login.username,
        user_id=user_id,
        devices=devices,
        selected=selected,
        plan=budgeted.describe() if budgeted else "nothing to plan",
        state_dir=str(settings.state_dir),
        state_writable=writable(settings.state_dir),
        discovery=discovery(settings),
    )


def discovery(settings: Settings) -> str:
    """Which discovery the bridge publishes, and for which Home Assistant."""
    if not settings.ha_discovery:
        return "off (HA_DISCOVERY=false)"
    prefix = settings.ha_discovery_prefix
    return f"{SCHEMAS[settings.ha_discovery_schema]}, under {prefix}/"


def writable(directory: Path) -> bool:
    """Whether `directory` is writable, or could be created in its nearest parent."""
    candidates = (directory, *directory.parents)
    existing = next((path for path in candidates if path.exists()), directory)
    return existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)


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
        *([f"ha       {report.discovery}"] if report.discovery else []),
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

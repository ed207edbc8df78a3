"""The systemd unit: what the service needs, as locked down as systemd allows."""

from __future__ import annotations

import os
import re
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from pydantic import SecretStr

from bridge.config import Settings
from tests.support.programs import require_program

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "flume-mqtt.service"
EXECUTABLE = "/opt/flume-mqtt/venv/bin/flume-mqtt"
MAX_EXPOSURE = 1.5


def directives(text: str) -> dict[str, list[str]]:
    """Every `Key=value` of a unit file, values in order (keys may repeat)."""
    found: dict[str, list[str]] = defaultdict(list)
    for line in text.splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found[key].append(value)
    return found


UNIT_DIRECTIVES = directives(UNIT.read_text())


def systemd_analyze() -> str:
    """The systemd-analyze binary; missing, the test skips, or fails under CI."""
    return require_program("systemd-analyze")


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [systemd_analyze(), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""},
    )


def test_security_exposure_is_at_most_1_5() -> None:
    """`systemd-analyze security --offline=yes` rates the unit 1.5 or lower."""
    done = analyze("security", "--offline=yes", "--no-pager", str(UNIT))
    match = re.search(
        r"Overall exposure level for flume-mqtt\.service: ([\d.]+)", done.stdout
    )
    assert match, done.stdout + done.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, done.stdout


def test_verify_finds_nothing_but_the_missing_executable() -> None:
    """`systemd-analyze verify` accepts every line; only the venv is not there yet."""
    done = analyze("verify", str(UNIT))
    problems = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if line.strip() and f"Command {EXECUTABLE} is not executable" not in line
    ]
    assert problems == []


def test_the_service_is_a_notify_service_restarted_unless_misconfigured() -> None:
    """Type=notify with a watchdog; restarts on failure, never after exit 78."""
    unit = UNIT_DIRECTIVES
    assert unit["Type"] == ["notify"]
    assert int(unit["WatchdogSec"][0]) >= 60  # the service pings at half of it
    assert unit["Restart"] == ["on-failure"]
    assert unit["RestartPreventExitStatus"] == ["78"]
    assert unit["ExecStart"] == [f"{EXECUTABLE} run"]
    assert "network-online.target" in unit["After"]
    assert "network-online.target" in unit["Wants"]
    assert unit["WantedBy"] == ["multi-user.target"]


def test_it_runs_as_a_dynamic_user_with_state_and_settings() -> None:
    """No fixed account; the state directory and env file the README names."""
    unit = UNIT_DIRECTIVES
    assert unit["DynamicUser"] == ["yes"]
    assert unit["StateDirectory"] == ["flume-mqtt"]
    assert unit["EnvironmentFile"] == ["/etc/flume-mqtt/flume-mqtt.env"]
    assert unit["UMask"] == ["0077"]


def test_every_secret_setting_is_a_credential_with_a_default() -> None:
    """Each SecretStr variable is loaded from /etc; a missing file does not fail start.

    systemd 252 fails a unit whose LoadCredential= file is missing unless a
    SetCredential= of the same id gives a default; the default must read as empty.
    """
    secrets = {
        name
        for name, field in Settings.model_fields.items()
        if SecretStr in getattr(field.annotation, "__args__", (field.annotation,))
    }
    loaded = dict(value.split(":", 1) for value in UNIT_DIRECTIVES["LoadCredential"])
    defaults = dict(value.split(":", 1) for value in UNIT_DIRECTIVES["SetCredential"])
    assert secrets == {"flume_client_secret", "flume_password", "mqtt_password"}
    assert loaded == {name: f"/etc/flume-mqtt/credentials/{name}" for name in secrets}
    assert defaults == dict.fromkeys(secrets, r"\n")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        ("ProtectProc", "invisible"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("RestrictNamespaces", "yes"),
        ("LockPersonality", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
    ],
)
def test_the_sandbox_has(key: str, value: str) -> None:
    """Each hardening setting the issue names is there with the strict value."""
    assert UNIT_DIRECTIVES[key] == [value]


def test_system_calls_are_the_service_set_minus_privileged_and_resources() -> None:
    """@system-service, then @privileged and @resources taken away."""
    assert UNIT_DIRECTIVES["SystemCallFilter"] == [
        "@system-service",
        "~@privileged @resources",
    ]

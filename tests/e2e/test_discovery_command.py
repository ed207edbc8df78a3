"""`flume-mqtt discovery` as a user runs it: a subprocess against the simulator."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from bridge.simulator.server import Simulator

COMMAND = [sys.executable, "-m", "bridge", "discovery"]
DEMO_ENV = {
    "FLUME_CLIENT_ID": "demo-client",
    "FLUME_CLIENT_SECRET": "demo-secret",
    "FLUME_USERNAME": "demo@example.com",
    "FLUME_PASSWORD": "demo-password",
}


def discovery(
    sim: Simulator, tmp_path: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `discovery ARGS` with the demo account against `sim`, plus `env`."""
    full = {
        **os.environ,
        **DEMO_ENV,
        "FLUME_API_URL": sim.url,
        "STATE_DIR": str(tmp_path / "state"),
        "LOG_LEVEL": "WARNING",
        **env,
    }
    return subprocess.run(
        [*COMMAND, *args],
        env=full,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def token_requests(sim: Simulator) -> int:
    routes = requests.get(f"{sim.url}/_sim/stats", timeout=10).json()["by_route"]
    return int(routes.get("POST /oauth/token", {"total": 0})["total"])


def by_topic(stdout: str) -> dict[str, dict[str, Any]]:
    return {entry["topic"]: entry for entry in json.loads(stdout)}


def test_json_lists_every_message_a_start_would_publish(
    sim: Simulator, tmp_path: Path
) -> None:
    """--json prints discovery, status, availability and states, payloads parsed."""
    done = discovery(sim, tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    sensor = sim.model.account.sensors[0].id
    hub = next(d.id for d in sim.model.account.devices if not d.is_sensor)
    found = by_topic(done.stdout)
    assert list(found) == [
        "homeassistant/device/flume_mqtt/config",
        f"homeassistant/device/flume_{hub}/config",
        f"homeassistant/device/flume_{sensor}/config",
        "flume/status",
        f"flume/{sensor}/availability",
        f"flume/{sensor}/state",
        f"flume/{hub}/state",
    ]
    assert all(entry["retain"] for entry in found.values())
    assert found["flume/status"]["payload"] == "online"
    config = found[f"homeassistant/device/flume_{sensor}/config"]["payload"]
    assert config["device"]["name"] == "Flume Home"
    assert config["device"]["via_device"] == f"flume_{hub}"
    assert len(config["cmps"]) == 21
    state = found[f"flume/{sensor}/state"]["payload"]
    assert state["device_id"] == sensor
    assert state["connected"] is True
    assert state["battery_level"] in ("low", "medium", "high")
    assert state["today"] is None  # not polled: unknown, never zero
    token = tmp_path / "state" / "flume-token.json"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600


def test_a_second_run_reuses_the_saved_token(sim: Simulator, tmp_path: Path) -> None:
    """The token file saves a login: the second run sends no token request."""
    assert discovery(sim, tmp_path, "--json").returncode == 0
    assert token_requests(sim) == 1
    done = discovery(sim, tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    assert token_requests(sim) == 1


def test_the_plain_listing_is_one_line_per_message(
    sim: Simulator, tmp_path: Path
) -> None:
    """Without --json each message is one line; configs show device and entities."""
    done = discovery(sim, tmp_path, UNITS="liters", HA_DISCOVERY_SCHEMA="component")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == (
        "31 messages; `flume-mqtt discovery --json` shows them in full"
    )
    sensor = sim.model.account.sensors[0].id
    flow = next(line for line in lines if f"flume_{sensor}/flow_rate/" in line)
    assert flow.split() == [
        f"homeassistant/sensor/flume_{sensor}/flow_rate/config",
        "retained",
        "Flume",
        "Home:",
        "Flow",
        "rate",
    ]
    assert any(line.split()[-1] == "online" for line in lines)


def test_a_bad_password_is_exit_78_with_one_line(
    sim: Simulator, tmp_path: Path
) -> None:
    """A refused Flume login is one stderr line naming the variables and exit 78."""
    done = discovery(sim, tmp_path, FLUME_PASSWORD="wrong-password")
    assert done.returncode == 78
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "FLUME_PASSWORD" in done.stderr
    assert "wrong-password" not in done.stderr

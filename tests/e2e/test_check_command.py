"""`flume-mqtt check` as a user runs it: a subprocess against simulator and broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.simulator.server import Simulator
from tests.support.broker import Broker

COMMAND = [sys.executable, "-m", "bridge", "check"]
DEMO_ENV = {
    "FLUME_CLIENT_ID": "demo-client",
    "FLUME_CLIENT_SECRET": "demo-secret",
    "FLUME_USERNAME": "demo@example.com",
    "FLUME_PASSWORD": "demo-password",
}


@pytest.fixture(autouse=True)
def broker(mosquitto: Broker, monkeypatch: pytest.MonkeyPatch) -> Broker:
    """Each check here talks to the session's anonymous broker unless told otherwise."""
    monkeypatch.setenv("MQTT_HOST", mosquitto.host)
    monkeypatch.setenv("MQTT_PORT", str(mosquitto.port))
    return mosquitto


def check(
    sim: Simulator, tmp_path: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `check` with the demo account against `sim`, plus `env`."""
    full = {
        **os.environ,
        **DEMO_ENV,
        "FLUME_API_URL": sim.url,
        "STATE_DIR": str(tmp_path / "state"),
        **env,
    }
    return subprocess.run(
        COMMAND,
        env=full,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_check_passes_and_prints_the_report(sim: Simulator, tmp_path: Path) -> None:
    """Against a healthy account and broker, check prints the report and exits 0."""
    done = check(sim, tmp_path)
    assert done.returncode == 0, done.stderr
    sensor = sim.model.account.sensors[0]
    assert f"  sensor {sensor.id}  Home (America/Los_Angeles)  connected" in done.stdout
    assert "plan     1 sensor at 100 requests/hour: usage every" in done.stdout
    assert "mqtt     ok: connected to 127.0.0.1:" in done.stdout
    assert done.stdout.splitlines()[-1] == "result   ok"
    assert "Traceback" not in done.stderr


def test_a_bad_password_is_exit_78_with_one_line(
    sim: Simulator, tmp_path: Path
) -> None:
    """A refused login is one stderr line naming the variables and exit 78."""
    done = check(sim, tmp_path, FLUME_PASSWORD="wrong-password")
    assert done.returncode == 78
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("credential error: Flume refused the login of ")
    assert "FLUME_PASSWORD" in done.stderr
    assert "wrong-password" not in done.stderr


def test_a_bad_variable_is_exit_78_with_one_line(
    sim: Simulator, tmp_path: Path
) -> None:
    """An out-of-range variable is named in one stderr line before any request."""
    done = check(sim, tmp_path, FLUME_REQUESTS_PER_HOUR="500")
    assert done.returncode == 78
    assert done.stderr == (
        "config error: FLUME_REQUESTS_PER_HOUR: must be between 1 and 120\n"
    )


def test_an_unknown_variable_is_warned_about(sim: Simulator, tmp_path: Path) -> None:
    """A misspelt MQTT variable is warned about with the right name; check runs."""
    done = check(sim, tmp_path, MQTT_HOTS="broker.lan", LOG_LEVEL="WARNING")
    assert done.returncode == 0, done.stderr
    assert done.stderr.endswith(
        "WARNING bridge.config: unknown variable MQTT_HOTS; did you mean MQTT_HOST?\n"
    )
    assert done.stderr.count("\n") == 1


def test_a_wrong_broker_password_is_exit_78_with_one_line(
    sim: Simulator, tmp_path: Path, mosquitto_auth: Broker
) -> None:
    """A broker refusing the login is one stderr line naming the variables and 78."""
    done = check(
        sim,
        tmp_path,
        MQTT_PORT=str(mosquitto_auth.port),
        MQTT_USERNAME="bridge",
        MQTT_PASSWORD="wrong-broker-pw",
    )
    assert done.returncode == 78
    assert done.stdout == ""
    assert done.stderr == (
        f"broker credential error: MQTT broker 127.0.0.1:{mosquitto_auth.port}: "
        "login refused (Not authorized); check MQTT_USERNAME and MQTT_PASSWORD\n"
    )

"""`discovery` in-process against the simulator: device selection and failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridge.cli import main
from bridge.simulator.server import Simulator
from tests.support.broker import free_port

DEMO_ENV = {
    "FLUME_CLIENT_ID": "demo-client",
    "FLUME_CLIENT_SECRET": "demo-secret",
    "FLUME_USERNAME": "demo@example.com",
    "FLUME_PASSWORD": "demo-password",
}


def run(monkeypatch: pytest.MonkeyPatch, url: str, **env: str) -> int:
    """Run `discovery --json` with the demo account against `url`, plus `env`."""
    for name, value in {**DEMO_ENV, "FLUME_API_URL": url, **env}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("STATE_DIR", "state")  # the test's own working directory
    return main(["--log-level", "WARNING", "discovery", "--json"])


def test_flume_device_ids_select_the_devices(
    sim: Simulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Selecting only the sensor leaves its hub out; it hangs off the service."""
    sensor = sim.model.account.sensors[0].id
    assert run(monkeypatch, sim.url, FLUME_DEVICE_IDS=sensor) == 0
    found: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    assert [entry["topic"] for entry in found] == [
        "homeassistant/device/flume_mqtt/config",
        f"homeassistant/device/flume_{sensor}/config",
        "flume/status",
        f"flume/{sensor}/availability",
        f"flume/{sensor}/state",
    ]
    assert found[1]["payload"]["device"]["via_device"] == "flume_mqtt"


def test_an_unknown_device_id_is_exit_78_with_one_line(
    sim: Simulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """FLUME_DEVICE_IDS naming a device the account lacks is a config error."""
    assert run(monkeypatch, sim.url, FLUME_DEVICE_IDS="123") == 78
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "config error: FLUME_DEVICE_IDS: not in this account: 123\n"


def test_an_unreachable_flume_is_exit_1_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Flume not answering is a transient failure: one line, exit 1, no traceback."""
    assert run(monkeypatch, f"http://127.0.0.1:{free_port()}", FLUME_TIMEOUT="2") == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("flume error: ")
    assert err.count("\n") == 1

"""`flume-mqtt check` in-process against the simulator and mosquitto: report, exits."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.cli import main
from bridge.flume.planner import plan
from bridge.simulator.server import Simulator
from tests.support.broker import Broker, TlsFiles, free_port
from tests.support.simulator import SimFactory

DEMO_ENV = {
    "FLUME_CLIENT_ID": "demo-client",
    "FLUME_CLIENT_SECRET": "demo-secret",
    "FLUME_USERNAME": "demo@example.com",
    "FLUME_PASSWORD": "demo-password",
}


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, sim: Simulator, mosquitto: Broker, tmp_path: Path
) -> Path:
    """Point at the simulator (demo account) and a broker; return STATE_DIR."""
    state = tmp_path / "state"
    for name, value in {
        **DEMO_ENV,
        "FLUME_API_URL": sim.url,
        "STATE_DIR": str(state),
        "MQTT_HOST": mosquitto.host,
        "MQTT_PORT": str(mosquitto.port),
    }.items():
        monkeypatch.setenv(name, value)
    return state


def stats(sim: Simulator) -> dict[str, Any]:
    answer: dict[str, Any] = requests.get(f"{sim.url}/_sim/stats", timeout=5).json()
    return answer


def fault(sim: Simulator, **rule: Any) -> None:
    response = requests.post(f"{sim.url}/_sim/faults", json=rule, timeout=5)
    assert response.status_code == 200, response.text


def last_line(err: str) -> str:
    assert "Traceback" not in err
    return err.splitlines()[-1]


@pytest.mark.usefixtures("env")
def test_check_reports_devices_timezones_the_plan_and_the_broker(
    sim: Simulator, mosquitto: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    """A good setup prints each device's location and zone, plan and broker; exit 0."""
    assert main(["check"]) == 0
    out = capsys.readouterr().out.splitlines()
    account = sim.model.account
    for device in account.devices:
        location = account.location_of(device)
        line = next(line for line in out if device.id in line)
        assert f"{location.name} ({location.tz})" in line
    assert f"plan     {plan(100, 1).describe()}" in out
    assert (
        f"mqtt     ok: connected to 127.0.0.1:{mosquitto.port} "
        "(no TLS, anonymous, MQTT 3.1.1)"
    ) in out
    assert out[-1] == "result   ok"


def test_check_logs_in_once_and_leaves_the_token_file_alone(
    sim: Simulator, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each check proves the password with one login and three requests in all."""
    assert main(["check"]) == 0
    assert main(["check"]) == 0
    counts = stats(sim)
    assert counts["by_route"]["POST /oauth/token"]["total"] == 2
    assert counts["total"] == 6
    # No token file: only the request record, which counts checks into the hour.
    assert sorted(p.name for p in env.iterdir()) == [
        "flume-requests.json",
        "flume-requests.lock",
    ]
    assert f"state    {env} (writable)" in capsys.readouterr().out


@pytest.mark.usefixtures("env")
def test_a_wrong_password_is_one_line_and_exit_78_without_retrying(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused login names the variables to fix, not the password; tried once."""
    monkeypatch.setenv("FLUME_PASSWORD", "not-the-password")
    assert main(["check"]) == 78
    captured = capsys.readouterr()
    assert captured.out == ""
    line = last_line(captured.err)
    assert line.startswith(
        "credential error: Flume refused the login of demo@example.com"
    )
    assert line.endswith(
        "check FLUME_CLIENT_ID, FLUME_CLIENT_SECRET, FLUME_USERNAME and FLUME_PASSWORD"
    )
    assert "not-the-password" not in captured.err
    assert stats(sim)["total"] == 1


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    "rule",
    [
        {"route": "/users/*", "status": 503},
        {"route": "/users/*", "status": 429, "retry_after": 30},
        {"route": "/users/*", "body": "html"},
        {"route": "/oauth/token", "drop": True},
    ],
    ids=["503", "429", "html", "dropped"],
)
def test_a_transient_flume_failure_is_one_line_and_exit_1(
    sim: Simulator, rule: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """Outages, rate limits and garbage end the check with one line, not a traceback."""
    fault(sim, **rule)
    assert main(["check"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert last_line(captured.err).startswith("flume error: ")


@pytest.mark.usefixtures("env")
def test_device_ids_narrow_the_report_and_unknown_ones_are_config_errors(
    sim_factory: SimFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """FLUME_DEVICE_IDS keeps the listed devices; an id the account lacks exits 78."""
    two = sim_factory(sensors=2)
    monkeypatch.setenv("FLUME_API_URL", two.url)
    first, second = two.model.account.sensors
    monkeypatch.setenv("FLUME_DEVICE_IDS", first.id)
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert first.id in out
    assert second.id not in out
    assert (
        "devices  1 water sensor, 0 Flume Bridges (2 more not in FLUME_DEVICE_IDS)"
        in (out)
    )
    assert f"plan     {plan(100, 1).describe()}" in out.splitlines()
    monkeypatch.setenv("FLUME_DEVICE_IDS", f"{first.id},999")
    assert main(["check"]) == 78
    assert capsys.readouterr().err.splitlines()[-1] == (
        "config error: FLUME_DEVICE_IDS: not in this account: 999"
    )


@pytest.mark.usefixtures("env")
def test_only_bridges_selected_fails_the_check(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no water sensor to bridge the report says FAILED and the exit code is 1."""
    hub = next(d for d in sim.model.account.devices if not d.is_sensor)
    monkeypatch.setenv("FLUME_DEVICE_IDS", hub.id)
    assert main(["check"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "plan     nothing to plan" in out
    assert out[-1] == "result   FAILED: no water sensor to bridge"


@pytest.mark.usefixtures("env")
def test_a_state_dir_that_cannot_be_created_fails_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """STATE_DIR under a plain file could never hold tokens or counters: FAILED."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("STATE_DIR", str(blocker / "state"))
    assert main(["check"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"result   FAILED: STATE_DIR {blocker / 'state'} is not writable"


def test_the_env_file_supplies_settings_and_the_log_level(
    sim: Simulator,
    mosquitto: Broker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--env-file alone configures check; its LOG_LEVEL applies unless --log-level."""
    lines = [f"{k}={v}" for k, v in DEMO_ENV.items()]
    lines += [f"FLUME_API_URL={sim.url}", f"STATE_DIR={tmp_path}", "LOG_LEVEL=WARNING"]
    lines += [f"MQTT_HOST={mosquitto.host}", f"MQTT_PORT={mosquitto.port}"]
    env_file = tmp_path / "flume.env"
    env_file.write_text("\n".join(lines) + "\n")
    assert main(["--env-file", str(env_file), "check"]) == 0
    captured = capsys.readouterr()
    assert f"config   ok (environment and {env_file})" in captured.out
    assert captured.err == ""
    assert logging.getLogger().level == logging.WARNING
    assert main(["--log-level", "debug", "--env-file", str(env_file), "check"]) == 0
    assert logging.getLogger().level == logging.DEBUG


@pytest.mark.usefixtures("env")
def test_check_at_debug_shows_no_secret_and_no_token(
    mosquitto_auth: Broker,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Neither the report nor DEBUG logs show a secret, a JWT or a refresh token."""
    use_broker(
        monkeypatch,
        mosquitto_auth,
        MQTT_USERNAME="bridge",
        MQTT_PASSWORD="broker-secret",
    )
    assert main(["--log-level", "debug", "check"]) == 0
    monkeypatch.setenv("FLUME_PASSWORD", "wrong-pa55word")
    assert main(["--log-level", "debug", "check"]) == 78
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    assert "DEBUG bridge.flume" in shown  # DEBUG was on
    secrets = ("demo-secret", "demo-password", "wrong-pa55word", "broker-secret")
    for secret in (*secrets, "Bearer"):
        assert secret not in shown
    assert "eyJ" not in shown  # every JWT starts with the base64 of '{"'
    assert not re.search(r"\b[0-9a-f]{40}\b", shown)  # the simulator's refresh tokens


def use_broker(monkeypatch: pytest.MonkeyPatch, broker: Broker, **env: str) -> None:
    """Point check at `broker`, with more MQTT_* variables."""
    monkeypatch.setenv("MQTT_HOST", broker.host)
    monkeypatch.setenv("MQTT_PORT", str(broker.port))
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("env")
def test_a_wrong_broker_password_is_one_line_and_exit_78(
    sim: Simulator,
    mosquitto_auth: Broker,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A broker that refuses the login: one stderr line naming the variables; 78."""
    use_broker(
        monkeypatch, mosquitto_auth, MQTT_USERNAME="bridge", MQTT_PASSWORD="nope-pw"
    )
    assert main(["check"]) == 78
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"broker credential error: MQTT broker 127.0.0.1:{mosquitto_auth.port}: "
        "login refused (Not authorized); check MQTT_USERNAME and MQTT_PASSWORD\n"
    )
    assert "POST /oauth/token" not in stats(sim)["by_route"]  # no Flume login spent


@pytest.mark.usefixtures("env")
def test_an_unreachable_broker_fails_the_check_with_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nobody listening on MQTT_PORT: the report says why and the exit code is 1."""
    port = free_port()
    monkeypatch.setenv("MQTT_PORT", str(port))
    assert main(["check"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert f"mqtt     FAILED: MQTT broker 127.0.0.1:{port}: " in out[-2]
    assert "Connection refused" in out[-2]
    assert out[-1] == "result   FAILED: the MQTT broker is not reachable"


@pytest.mark.usefixtures("env")
def test_check_connects_to_a_tls_broker_with_a_client_certificate(
    mosquitto_tls: Broker,
    tls_files: TlsFiles,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With MQTT_TLS, the CA and a client certificate, check connects and says so."""
    use_broker(
        monkeypatch,
        mosquitto_tls,
        MQTT_TLS="true",
        MQTT_CA_FILE=str(tls_files.ca_cert),
        MQTT_CERT_FILE=str(tls_files.client_cert),
        MQTT_KEY_FILE=str(tls_files.client_key),
        MQTT_PROTOCOL="5",
    )
    assert main(["check"]) == 0
    assert (
        f"mqtt     ok: connected to 127.0.0.1:{mosquitto_tls.port} "
        "(TLS, client certificate, anonymous, MQTT 5)"
    ) in capsys.readouterr().out.splitlines()


@pytest.mark.usefixtures("env", "mosquitto")
@pytest.mark.parametrize(
    ("variables", "line"),
    [
        ({}, "ha       device schema, for Home Assistant 2024.11 and later "
             "(before 2024.11: HA_DISCOVERY_SCHEMA=component), under homeassistant/"),
        ({"HA_DISCOVERY_SCHEMA": "component", "HA_DISCOVERY_PREFIX": "ha"},
         "ha       component schema, for Home Assistant 2023.1 and later, and openHAB, "
         "under ha/"),
        ({"HA_DISCOVERY": "false"}, "ha       off (HA_DISCOVERY=false)"),
    ],
)  # fmt: skip
def test_check_names_the_discovery_schema_and_its_releases(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variables: dict[str, str],
    line: str,
) -> None:
    """Users of Home Assistant before 2024.11 see they need the component schema."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert main(["check"]) == 0
    assert line in capsys.readouterr().out.splitlines()

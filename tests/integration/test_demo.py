"""The demo in-process with a stand-in bridge: brokers, signals and failures."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from bridge.commands.demo import Watcher, demo
from bridge.commands.demo_broker import DemoError, end
from bridge.config import Settings
from tests.support.broker import Broker, find_mosquitto, free_port

ROOT = Path(__file__).resolve().parents[2]
STAND_IN = (sys.executable, "-m", "tests.support.demo_bridge")
SENSOR = "6248148189204194987"


@pytest.fixture(autouse=True)
def importable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The stand-in imports from the checkout; temporary directories go to a new one."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch


def nothing_listens(monkeypatch: pytest.MonkeyPatch) -> int:
    """Point MQTT_HOST:MQTT_PORT at a loopback port without a broker."""
    port = free_port()
    monkeypatch.setenv("MQTT_HOST", "127.0.0.1")
    monkeypatch.setenv("MQTT_PORT", str(port))
    return port


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_broker_that_answers_is_used_and_every_message_shows(
    mosquitto: Broker, monkeypatch: pytest.MonkeyPatch, importable: Path
) -> None:
    """On the configured broker: the intro, each message of the bridge, its goodbye."""
    monkeypatch.setenv("MQTT_HOST", mosquitto.host)
    monkeypatch.setenv("MQTT_PORT", str(mosquitto.port))
    out = io.StringIO()
    assert demo(2, command=STAND_IN, out=out) == 0
    intro, *lines = out.getvalue().splitlines()
    assert f"publishes to {mosquitto.host}:{mosquitto.port};" in intro
    assert (
        f"mosquitto_sub -h {mosquitto.host} -p {mosquitto.port} -t 'flume/#'" in intro
    )
    shown = [" ".join(line.split()[1:]) for line in lines]  # without the time
    assert shown[0] == "status online"
    assert "discovery Home Assistant discovery: Flume Home — 21 entities" in shown
    assert (
        f"state Home {SENSOR}: flow 0.42 gal/min, today 80.2 gal, total 123.4 gal, "
        "leak yes"
    ) in shown
    assert f"availability {SENSOR} online" in shown
    assert any(line.startswith(f"event LEAK on {SENSOR}") for line in shown)
    assert shown[-1] == "status offline"
    assert list(importable.iterdir()) == []  # the state directory is gone


def test_without_a_broker_a_private_mosquitto_runs_and_is_stopped(
    monkeypatch: pytest.MonkeyPatch, importable: Path
) -> None:
    """Nothing on MQTT_HOST:MQTT_PORT: the demo brings its own broker, then stops it."""
    nothing_listens(monkeypatch)
    monkeypatch.setenv("MQTT_BASE_TOPIC", "elsewhere")  # not for the private broker
    out = io.StringIO()
    assert demo(2, command=STAND_IN, out=out) == 0
    intro = out.getvalue().splitlines()[0]
    port = int(intro.split("a private mosquitto on 127.0.0.1:")[1].split(";")[0])
    assert f"-p {port} -t 'flume/#' -v; Ctrl-C stops." in intro
    assert "leak yes" in out.getvalue()
    assert out.getvalue().splitlines()[-1].endswith("status       offline")
    assert not listening(port)
    assert list(importable.iterdir()) == []


def test_a_broker_that_refuses_us_is_passed_over(
    mosquitto_auth: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broker that turns the login down is no use to the demo: it runs its own."""
    monkeypatch.setenv("MQTT_HOST", mosquitto_auth.host)
    monkeypatch.setenv("MQTT_PORT", str(mosquitto_auth.port))
    out = io.StringIO()
    assert demo(1, command=STAND_IN, out=out) == 0
    assert "a private mosquitto on 127.0.0.1:" in out.getvalue()


def test_no_broker_and_no_mosquitto_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without either, one line names the package to install, and the exit is 1."""
    port = nothing_listens(monkeypatch)
    assert demo(5, command=STAND_IN, find=lambda: None) == 1
    assert capsys.readouterr().err == (
        f"flume-mqtt demo: no MQTT broker answers on 127.0.0.1:{port} and mosquitto "
        "is not installed: install it with `sudo apt install mosquitto` (or set "
        "MQTT_HOST and MQTT_PORT to a broker)\n"
    )


def test_a_mosquitto_that_does_not_start_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broker binary that exits at once ends the demo with its reason, exit 1."""
    nothing_listens(monkeypatch)
    assert demo(5, command=STAND_IN, find=lambda: "/bin/false") == 1
    assert capsys.readouterr().err == (
        "flume-mqtt demo: mosquitto did not start: no answer\n"
    )


def test_a_bad_setting_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo reads MQTT_HOST/MQTT_PORT as the bridge does: a bad one is exit 78."""
    monkeypatch.setenv("MQTT_PORT", "not-a-port")
    assert demo(5, command=STAND_IN) == 78
    assert capsys.readouterr().err.startswith("config error: MQTT_PORT")


def test_a_bridge_that_stops_by_itself_fails_the_demo(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When the bridge ends on its own the demo says so and exits 1."""
    nothing_listens(monkeypatch)
    assert demo(30, command=(*STAND_IN, "3"), out=io.StringIO()) == 1
    assert capsys.readouterr().err.endswith(
        "flume-mqtt demo: the bridge stopped by itself (status 3)\n"
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_everything_in_order_and_exits_0(
    monkeypatch: pytest.MonkeyPatch, sig: signal.Signals
) -> None:
    """Ctrl-C or SIGTERM: the bridge says `offline`, the broker stops, exit 0."""
    nothing_listens(monkeypatch)
    before = signal.getsignal(sig)
    out = io.StringIO()
    timer = threading.Timer(2.0, os.kill, (os.getpid(), sig))
    timer.start()
    try:
        assert demo(float("inf"), command=STAND_IN, out=out) == 0
    finally:
        timer.cancel()
    assert out.getvalue().splitlines()[-1].endswith("status       offline")
    assert signal.getsignal(sig) is before


def test_a_watcher_without_a_broker_is_a_demo_error() -> None:
    """The watch cannot subscribe: the demo stops before starting the bridge."""
    settings = Settings(mqtt_host="127.0.0.1", mqtt_port=free_port())
    with pytest.raises(DemoError, match="cannot watch the broker: MQTT broker"):
        Watcher(settings, io.StringIO()).start()


def test_a_child_that_ignores_sigterm_is_killed() -> None:
    """`end` waits for a clean stop, then uses SIGKILL."""
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
         "print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n"
    assert end(child, timeout=0.5) == -signal.SIGKILL
    child.stdout.close()


def test_mosquitto_is_found_where_debian_puts_it() -> None:
    """The demo finds the same broker binary as the test fixtures."""
    from bridge.commands.demo_broker import find_mosquitto as demo_finds

    assert demo_finds() == find_mosquitto()


def test_other_programs_messages_are_not_shown() -> None:
    """A discovery config of another program on a shared broker prints nothing."""
    out = io.StringIO()
    watcher = Watcher(Settings(), out)
    watcher.show("homeassistant/device/zigbee_lamp/config", b"{}")
    watcher.show("flume/status", b"offline")
    assert out.getvalue().split()[1:] == ["status", "offline"]
    assert watcher.offline.is_set()


def test_main_runs_the_real_bridge_on_its_simulator(
    mosquitto: Broker,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`python -m bridge.commands.demo --seconds N` shows the real bridge's state."""
    from bridge.commands.demo import main

    monkeypatch.setenv("MQTT_HOST", mosquitto.host)
    monkeypatch.setenv("MQTT_PORT", str(mosquitto.port))
    assert main(["--seconds", "8"]) == 0
    assert re.search(r"  state +Home \d+: flow ", capsys.readouterr().out)

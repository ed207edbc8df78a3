"""`flume-mqtt simulate` as a user runs it: a ready line, real answers, a clean stop."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

COMMAND = [sys.executable, "-m", "bridge", "simulate", "--host", "127.0.0.1"]


@pytest.fixture
def simulate() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start the command on a free port and yield it with its base URL."""
    process = subprocess.Popen(
        [*COMMAND, "--port", "0", "--sensors", "2", "--tz", "Europe/Berlin"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.fullmatch(r"simulator listening on (http://127\.0\.0\.1:\d+)\n", line)
    assert match, f"unexpected first line {line!r}"
    yield process, match.group(1)
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=5)


def test_simulate_serves_the_api_until_sigterm(
    simulate: tuple[subprocess.Popen[str], str],
) -> None:
    """The simulator answers a password grant, then SIGTERM stops it with exit 0."""
    process, url = simulate
    body = {
        "grant_type": "password",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        "username": "demo@example.com",
        "password": "demo-password",
    }
    grant = requests.post(url + "/oauth/token", json=body, timeout=5).json()
    assert grant["success"] is True
    assert grant["data"][0]["token_type"] == "bearer"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=5) == 0


def test_simulate_uses_the_options(simulate: tuple[subprocess.Popen[str], str]) -> None:
    """--sensors and --tz shape the simulated account."""
    _process, url = simulate
    account = requests.get(url + "/_sim/account", timeout=5).json()
    assert [location["tz"] for location in account["locations"]] == ["Europe/Berlin"]
    sensors = [d for d in account["devices"] if d["type"] == 2]
    assert len(sensors) == 2


@pytest.mark.parametrize(
    "option", [["--sensors", "0"], ["--tz", "Mars/Olympus"], ["--port", "x"]]
)
def test_bad_options_are_usage_errors(option: list[str]) -> None:
    """A bad option value exits 2 with a message, never a traceback."""
    result = subprocess.run(
        [*COMMAND, *option], check=False, capture_output=True, text=True, timeout=20
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error" in result.stderr

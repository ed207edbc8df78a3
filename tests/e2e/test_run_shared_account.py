"""`flume-mqtt run` beside another client of the account: diagnostics tell Remaining."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.simulator.account import SimConfig
from tests.conftest import BrokerFactory
from tests.support.bridge import ROOT, BridgeProcess
from tests.support.mqtt import Seen, subscriber

OTHER = 7200  # requests an hour: two a second, so the first answers already tell
COMMAND = [sys.executable, "-m", "bridge", "simulate", "--host", "127.0.0.1"]
TIMEOUT = 10


@dataclass(frozen=True)
class SimulateProcess:
    """What bridge_env needs of a simulator: its URL and its account."""

    url: str
    config: SimConfig


@pytest.fixture
def simulate() -> Iterator[SimulateProcess]:
    """`flume-mqtt simulate --other-client 7200` on a free port."""
    process = subprocess.Popen(
        [*COMMAND, "--port", "0", "--other-client", str(OTHER)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.fullmatch(r"simulator listening on (http://127\.0\.0\.1:\d+)\n", line)
    assert match, f"unexpected first line {line!r}"
    url = match.group(1)
    wait_for_others(url)
    yield SimulateProcess(url, SimConfig())
    process.terminate()
    process.communicate(timeout=TIMEOUT)


def wait_for_others(url: str, count: int = 5) -> None:
    """Wait until the other client has spent `count` requests of the account's hour."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stats = requests.get(f"{url}/_sim/stats", timeout=TIMEOUT).json()
        if stats["other_client"]["admitted"] >= count:
            return
        time.sleep(0.1)
    raise AssertionError("the other client spent nothing")


def env_for(sim: SimulateProcess, port: int, state_dir: Path) -> dict[str, str]:
    """The environment of a bridge on the demo account of `sim` (bridge_env's)."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(state_dir.parent),
        "PYTHONPATH": str(ROOT),
        "FLUME_API_URL": sim.url,
        "FLUME_CLIENT_ID": sim.config.client_id,
        "FLUME_CLIENT_SECRET": sim.config.client_secret,
        "FLUME_USERNAME": sim.config.username,
        "FLUME_PASSWORD": sim.config.password,
        "MQTT_HOST": "127.0.0.1",
        "MQTT_PORT": str(port),
        "STATE_DIR": str(state_dir),
    }


def others_seen(seen: list[Seen]) -> bool:
    """Diagnostics where Flume's remaining shows requests that were not the bridge's."""
    for message in seen:
        if message.topic != "flume/diagnostics":
            continue
        document: dict[str, Any] = message.json()
        remaining = document["flume_remaining"]
        if remaining is not None and remaining < 120 - document["requests_last_hour"]:
            return True
    return False


def test_diagnostics_carry_what_flume_says_remains(
    simulate: SimulateProcess, broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    """Another client spends the account's hour: `flume_remaining` shows less left."""
    broker = broker_factory()
    env = env_for(simulate, broker.port, tmp_path / "state")
    with subscriber(broker, ("flume/diagnostics",)) as sub:
        bridge = BridgeProcess(env, tmp_path / "log")
        try:
            sub.wait_for(others_seen, timeout=30)
        finally:
            assert bridge.stop() == 0, bridge.text()
    stats = requests.get(f"{simulate.url}/_sim/stats", timeout=TIMEOUT).json()
    assert stats["other_client"]["admitted"] > 0
    assert stats["by_status"].get("429", 0) == 0
    assert "Bearer" not in bridge.text()

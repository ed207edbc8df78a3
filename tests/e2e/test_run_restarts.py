"""Restart storms: SIGKILLed `run`s, a `check` and a `discovery` on one budget."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
import requests

from bridge.simulator.server import Simulator
from tests.support.bridge import BridgeProcess, bridge_env
from tests.support.broker import Broker
from tests.support.simulator import TIMEOUT, SimFactory
from tests.support.soak import Ledger

WAIT = 30.0  # for one start of a loaded machine; never an assertion on speed
REFUSED = "not sent:"  # how the bridge says its own budget held a request back
STARTED = 3  # requests a start has sent when it is killed (unless held back)


def sent(sim: Simulator) -> int:
    """Requests the simulator has answered (or dropped) so far."""
    stats = requests.get(f"{sim.url}/_sim/stats", timeout=TIMEOUT).json()
    return int(stats["total"])


def started(sim: Simulator, bridge: BridgeProcess, before: int) -> None:
    """Wait until `bridge` has sent a few requests, or its budget held one back."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if sent(sim) >= before + STARTED or REFUSED in bridge.text():
            return
        assert bridge.process.poll() is None, bridge.text()
        time.sleep(0.2)
    raise AssertionError(f"the start neither sent nor held back:\n{bridge.text()}")


def command(name: str, env: Mapping[str, str], cwd: Path) -> str:
    """Run a one-shot command (`check`, `discovery`) on the same STATE_DIR."""
    done = subprocess.run(
        [sys.executable, "-m", "bridge", name],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    # Exit 1 with the budget's one line is the expected refusal of a spent hour.
    assert done.returncode == 0 or REFUSED in output, output
    return output


def storm(
    sim: Simulator, broker: Broker, tmp_path: Path, cycles: int, per_hour: int
) -> Ledger:
    """Start and SIGKILL `run` `cycles` times; `check` and `discovery` between."""
    env = bridge_env(
        sim, broker, tmp_path / "state", FLUME_REQUESTS_PER_HOUR=str(per_hour)
    )
    # Early, so that they spend from the hour; later ones find it spent.
    between = {0: "check", 1: "discovery", cycles // 2: "check"}
    for cycle in range(cycles):
        bridge = BridgeProcess(env, tmp_path / f"run-{cycle}.log")
        started(sim, bridge, sent(sim))
        assert bridge.stop(signal.SIGKILL) == -signal.SIGKILL
        assert "Traceback" not in bridge.text(), bridge.text()
        if cycle in between:
            command(between[cycle], env, tmp_path)
    ledger = Ledger(per_hour)
    ledger.drain(sim)
    return ledger


@pytest.mark.timeout(180)
def test_twelve_sigkills_in_two_minutes_never_spend_more_than_the_hour(
    sim_factory: SimFactory, broker: Broker, tmp_path: Path
) -> None:
    """Twelve SIGKILLed starts, two checks and a discovery hold 20 requests an hour."""
    sim = sim_factory(latency_minutes=0)  # its clock stands: one hour holds all
    begun = time.monotonic()
    ledger = storm(sim, broker, tmp_path, cycles=12, per_hour=20)
    took = time.monotonic() - begun
    print(f"\nstorm: busiest hour {ledger.peak}/20, 12 cycles in {took:.1f} s")  # noqa: T201  # the note's figure
    assert 0 < ledger.peak <= 20, (ledger.peak, ledger.by_status)

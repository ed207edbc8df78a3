"""`flume-mqtt run` under a fake systemd: sd_notify datagrams on a real unix socket."""

from __future__ import annotations

import itertools
import signal
import statistics
import time
from pathlib import Path

from tests.support.bridge import BridgeProcess, bridge_env
from tests.support.broker import Broker
from tests.support.mqtt import subscriber
from tests.support.notify import WAIT, Manager
from tests.support.service import eventually
from tests.support.simulator import SimFactory

WATCHDOG_USEC = 2_000_000  # a ping about every second (half the timeout)
STOP_LIMIT = 2.0  # seconds from the signal to the exit code


def start(
    sim_factory: SimFactory, broker: Broker, manager: Manager, tmp_path: Path
) -> tuple[BridgeProcess, str]:
    """A bridge notifying `manager`, and the id of its one sensor."""
    sim = sim_factory(latency_minutes=0)
    sensor = next(d.id for d in sim.model.account.devices if d.type == 2)
    env = bridge_env(
        sim,
        broker,
        tmp_path / "state",
        NOTIFY_SOCKET=str(manager.path),
        WATCHDOG_USEC=str(WATCHDOG_USEC),
    )
    return BridgeProcess(env, tmp_path / "bridge.log"), sensor


def retained(broker: Broker, topic: str) -> list[bytes]:
    """What the broker holds retained on `topic` right now, as a newcomer gets it."""
    with subscriber(broker, (topic, "fence")) as sub:
        # Retained messages follow the SUBACK; our own message, sent after it, comes
        # back after them.
        sub.send("fence", b"")
        sub.wait_topic("fence")
        return [s.payload for s in sub.on(topic) if s.retained]


def test_ready_watchdog_status_and_a_clean_stop(
    sim_factory: SimFactory, broker: Broker, manager: Manager, tmp_path: Path
) -> None:
    """READY=1 at start, a state retained, a ping a second, STATUS=; SIGTERM: exit 0."""
    bridge, sensor = start(sim_factory, broker, manager, tmp_path)
    try:
        manager.wait(lambda m: "READY=1" in m, "READY=1")
        # READY=1 waits for nothing on the network; a newcomer gets the state
        # retained once the first poll has answered.
        manager.wait_status("1 sensor; broker connected")
        eventually(lambda: bool(retained(broker, f"flume/{sensor}/state")), WAIT)
        manager.wait(lambda m: m.count("WATCHDOG=1") >= 4, "four watchdog pings")
    finally:
        signalled = time.monotonic()
        code = bridge.stop(signal.SIGTERM)
        elapsed = time.monotonic() - signalled
    assert code == 0, bridge.text()
    assert elapsed < STOP_LIMIT, f"exit {elapsed:.2f} s after SIGTERM"
    messages = manager.messages()
    assert messages.count("READY=1") == 1
    assert messages[-1] == "STOPPING=1"
    pings = manager.times("WATCHDOG=1")
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    # Half of WATCHDOG_USEC apart, never oftener; a busy machine may only delay one.
    assert min(gaps) > 0.8, gaps
    assert statistics.median(gaps) < 1.5, gaps
    status = [m for m in messages if m.startswith("STATUS=")]
    assert any("1 sensor; broker connected" in m for m in status), status
    assert retained(broker, "flume/status") == [b"offline"]


def test_sigint_exits_cleanly(
    sim_factory: SimFactory, broker: Broker, manager: Manager, tmp_path: Path
) -> None:
    """Ctrl-C (SIGINT) stops the bridge like SIGTERM: STOPPING=1, `offline`, exit 0."""
    bridge, _ = start(sim_factory, broker, manager, tmp_path)
    try:
        manager.wait(lambda m: "READY=1" in m, "READY=1")
    finally:
        code = bridge.stop(signal.SIGINT)
    assert code == 0, bridge.text()
    assert manager.messages()[-1] == "STOPPING=1"
    assert retained(broker, "flume/status") == [b"offline"]
    assert "Traceback" not in bridge.text()

"""`flume-mqtt run --demo` as a subprocess: a state within 10 s, exit 0 on SIGTERM."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.conftest import BrokerFactory
from tests.support.bridge import ROOT, BridgeProcess
from tests.support.mqtt import subscriber

FIRST_STATE = 10.0  # seconds from start to the first sensor state (issue 5)


def test_run_demo_publishes_a_sensor_state_and_stops_on_sigterm(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    """The demo needs only MQTT_HOST/MQTT_PORT; its sensor's usage arrives promptly."""
    broker = broker_factory()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "MQTT_HOST": broker.host,
        "MQTT_PORT": str(broker.port),
    }
    with subscriber(broker, ("flume/#",)) as watch:
        started = time.monotonic()
        bridge = BridgeProcess(env, tmp_path / "bridge.log", ("--demo",))
        try:
            state = watch.wait_for(
                lambda seen: any(
                    s.topic.endswith("/state") and s.json().get("today") is not None
                    for s in seen
                ),
                timeout=FIRST_STATE,
            )
            elapsed = time.monotonic() - started
        finally:
            code = bridge.stop()
        assert code == 0, bridge.text()
        watch.wait_topic("flume/status", b"offline")
    assert elapsed < FIRST_STATE
    assert state
    assert "demo: the Flume simulator listens on http://127.0.0.1:" in bridge.text()

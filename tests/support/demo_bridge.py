"""A stand-in for `run --demo`: one message of each kind, `offline` at SIGTERM.

Usage: python -m tests.support.demo_bridge [EXIT_STATUS]
Reads MQTT_HOST, MQTT_PORT and MQTT_CLIENT_ID as the bridge does. With EXIT_STATUS it
ends by itself with that status once it has published, as a failing bridge would.
"""

from __future__ import annotations

import signal
import sys
import threading
from datetime import UTC, datetime

from bridge.config import load_settings
from bridge.contract import Contract
from bridge.models import (
    Device,
    Diagnostics,
    Event,
    Location,
    Message,
    SensorState,
)
from bridge.mqtt import MqttPublisher

AT = datetime(2026, 11, 28, 12, 34, tzinfo=UTC)
SENSOR = "6248148189204194987"
HUB = "6248148189204194986"


def messages(contract: Contract) -> list[Message]:
    """What a first poll of the simulator's leaking sensor publishes."""
    home = Location(1, "Home", "UTC")
    hub = Device(HUB, 1, 1, home, connected=True, last_seen=AT)
    sensor = Device(SENSOR, 2, 1, home, bridge_id=HUB, product="flume2")
    state = SensorState(
        device_id=SENSOR, location="Home", updated_at=AT, unit="gal",
        flow_unit="gal/min", flow_rate=0.42, today=80.2, total=123.4, leak=True,
    )  # fmt: skip
    plan = {"usage": 60, "leaks": 300}
    return [
        *contract.discovery.configs([hub, sensor]),
        contract.payloads.state(state),
        contract.payloads.availability(SENSOR, True),
        contract.payloads.diagnostics(Diagnostics("0.1.0", AT, 100, plan, 4)),
        contract.payloads.event(SENSOR, Event("leak", "Leak detected", "at Home", AT)),
    ]


def main(argv: list[str]) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    settings = load_settings(demo=True)
    publisher = MqttPublisher(settings)
    publisher.start()
    publisher.wait_connected(10)
    for message in messages(Contract.of(settings)):
        publisher.publish(message)
    while not stop.is_set() and not argv:
        publisher.pump(timeout=0.1)
    publisher.pump(timeout=0.2)
    if argv:
        return int(argv[0])
    publisher.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

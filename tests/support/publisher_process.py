"""A process that runs an MqttPublisher like the service's main loop, until SIGTERM.

Usage: python -m tests.support.publisher_process HOST PORT PROTOCOL
Prints `ready` once connected and published, then each command it receives.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from bridge.config import Settings
from bridge.models import Message
from bridge.mqtt import MqttPublisher

CONFIG = Message("homeassistant/device/9/config", b'{"name": "e2e"}', retain=True)
STATE = Message("flume/9/state", b'{"today": 1.0}', retain=True)


def main(argv: list[str]) -> int:
    host, port, protocol = argv
    settings = Settings(
        mqtt_host=host,
        mqtt_port=int(port),
        mqtt_protocol=protocol,  # type: ignore[arg-type]  # validated by Settings
        mqtt_client_id=f"e2e-{os.getpid()}",
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    publisher = MqttPublisher(settings)
    publisher.start()
    publisher.wait_connected(10)
    publisher.publish(CONFIG)
    publisher.publish(STATE)
    say("ready")
    while not stop.is_set():
        for command in publisher.pump(timeout=0.1):
            say(command.value)
    publisher.stop()
    return 0


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

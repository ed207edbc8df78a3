"""Away-mode commands through MqttPublisher against a real mosquitto."""

from __future__ import annotations

import logging
import time

import pytest

from bridge.mqtt import Command, SetAway
from tests.support.broker import Broker
from tests.support.mqtt import Publishers, junk_then_press, subscriber


def test_the_newest_ask_per_location_comes_back_once(
    broker: Broker,
    publishers: Publishers,
) -> None:
    """ON then OFF for one location is OFF; each location's ask comes back once."""
    publisher = publishers()
    with subscriber(broker) as sub:
        sub.send("flume/10001/away_mode/set", b"ON")
        sub.send("flume/10001/away_mode/set", b"OFF\n")
        sub.send("flume/10002/away_mode/set", b"ON")
        sub.send("flume/command/republish", b"PRESS")  # after the three, in order
        deadline = time.monotonic() + 10
        while Command.REPUBLISH not in publisher.pump(timeout=1):
            assert time.monotonic() < deadline
    assert publisher.away_requests() == [SetAway(10001, False), SetAway(10002, True)]
    assert publisher.away_requests() == []


BAD = {
    "lower case": ("flume/10001/away_mode/set", b"on", False),
    "other word": ("flume/10001/away_mode/set", b"TOGGLE", False),
    "binary": ("flume/10001/away_mode/set", b"\xff\xfe", False),
    "not an id": ("flume/home/away_mode/set", b"ON", False),
    "retained": ("flume/10001/away_mode/set", b"ON", True),
}


@pytest.mark.parametrize("case", BAD)
def test_anything_but_on_or_off_is_ignored_with_a_debug_line(
    broker: Broker,
    publishers: Publishers,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    """Junk on an away-mode command topic is dropped with a DEBUG line, no request."""
    topic, payload, retained = BAD[case]
    caplog.set_level(logging.DEBUG, logger="bridge.mqtt")
    publisher = junk_then_press(broker, publishers, topic, payload, retained=retained)
    assert publisher.away_requests() == []
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any(m.startswith("ignored") and topic in m for m in debug), debug
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

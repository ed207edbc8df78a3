"""MqttPublisher against a real mosquitto: retained state, order, stop, commands."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from bridge.models import Message
from bridge.mqtt import Command, MqttPublisher
from tests.support.broker import Broker
from tests.support.mqtt import Publishers, broker_settings, junk_then_press, subscriber

CONFIG = "homeassistant/device/123/config"
STATE = "flume/123/state"


def config(name: str = "Home") -> Message:
    return Message(CONFIG, f'{{"dev": {{"name": "{name}"}}}}'.encode(), retain=True)


def state(today: float) -> Message:
    return Message(STATE, f'{{"today": {today}}}'.encode(), retain=True)


def test_a_late_subscriber_gets_discovery_states_and_online(
    broker: Broker, publishers: Publishers
) -> None:
    """What the publisher sent stays retained for a subscriber that comes later."""
    publisher = publishers()
    publisher.publish(config())
    publisher.publish(state(1.5))
    publisher.publish(state(2.5))
    with subscriber(broker) as early:  # proves delivery before the late one looks
        early.wait_topic(STATE)
    with subscriber(broker) as late:
        late.wait_for(lambda seen: {s.topic for s in seen} >= {CONFIG, STATE})
        late.wait_topic("flume/status", b"online")
        assert [s.json() for s in late.on(STATE)] == [{"today": 2.5}]
        assert late.on(CONFIG)[0].json() == {"dev": {"name": "Home"}}
        assert all(s.retained for s in late.seen)


def test_a_clean_stop_leaves_offline_retained(broker: Broker) -> None:
    """stop() publishes `offline` retained and waits for it before disconnecting."""
    publisher = MqttPublisher(broker_settings(broker))
    with publisher:
        publisher.wait_connected(10)
    with subscriber(broker) as late:
        seen = late.wait_topic("flume/status")
        assert (seen.payload, seen.retained) == (b"offline", True)


def test_messages_published_before_connecting_go_out_discovery_first(
    broker: Broker,
) -> None:
    """The snapshot is sent on connect: status, then discovery, then the states."""
    publisher = MqttPublisher(broker_settings(broker))
    publisher.publish(state(1.0))
    publisher.publish(config())
    publisher.publish(Message("flume/123/event", b'{"type": "leak"}', retain=False))
    with subscriber(broker) as sub, publisher:
        publisher.wait_connected(10)
        sub.wait_topic("flume/123/event")
        assert sub.topics() == ["flume/status", CONFIG, STATE, "flume/123/event"]
        assert sub.on("flume/123/event")[0].json() == {"type": "leak"}


def test_state_updates_never_resend_discovery(
    broker: Broker, publishers: Publishers
) -> None:
    """Discovery goes out once per connect, not with every state update."""
    publisher = publishers()
    with subscriber(broker) as sub:
        publisher.publish(config())
        for today in range(5):
            publisher.publish(state(float(today)))
        sub.wait_for(lambda seen: [s.topic for s in seen].count(STATE) == 5)
        publisher.pump()
        assert len(sub.on(CONFIG)) == 1
        assert [s.json()["today"] for s in sub.on(STATE)] == [0, 1, 2, 3, 4]
    assert publisher.resends == 1  # the connect


def test_commands_arrive_through_pump_on_the_callers_thread(
    broker: Broker, publishers: Publishers
) -> None:
    """Button presses come back from pump(), in the order sent, on our thread."""
    publisher = publishers()
    with subscriber(broker) as sub:
        sub.send("flume/command/republish", b"PRESS")
        sub.send("flume/command/refresh", b"")
        sub.send("flume/command/refresh", b"PRESS")
        commands: list[Command] = []
        while Command.REFRESH not in commands:
            batch = publisher.pump(timeout=5)
            assert len(batch) == len(set(batch))  # presses between pumps fold
            commands += batch
    assert commands[:2] == [Command.REPUBLISH, Command.REFRESH]
    assert threading.current_thread() is threading.main_thread()


BAD_COMMANDS = {
    "binary": ("flume/command/refresh", b"\xff\xfe", "malformed refresh payload"),
    "oversized": ("flume/command/refresh", b"x" * 1000, "malformed refresh payload"),
    "unknown-topic": ("flume/command/reboot", b"PRESS", "unknown command topic"),
    "retained": ("flume/command/refresh", b"PRESS", "retained command"),
}


@pytest.mark.parametrize("case", BAD_COMMANDS)
def test_bad_commands_are_ignored_with_a_debug_line(
    broker: Broker,
    publishers: Publishers,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    """Junk on the command topics is dropped with a DEBUG line; a good press works."""
    topic, payload, logged = BAD_COMMANDS[case]
    caplog.set_level(logging.DEBUG, logger="bridge.mqtt")
    junk_then_press(broker, publishers, topic, payload, retained=case == "retained")
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert any(logged in r.getMessage() for r in debug), [r.getMessage() for r in debug]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_republish_resends_the_snapshot_once(
    broker: Broker, publishers: Publishers
) -> None:
    """republish() (the service's answer to REPUBLISH) re-sends discovery and states."""
    publisher = publishers()
    publisher.publish(config())
    publisher.publish(state(3.0))
    with subscriber(broker) as sub:
        sub.wait_for(lambda seen: len(seen) == 3)  # retained: status, config, state
        publisher.republish()
        seen = sub.wait_for(lambda seen: len(seen) == 5)
    assert [(s.topic, s.retained) for s in seen[3:]] == [
        (CONFIG, False),
        (STATE, False),
    ]


def test_stop_gives_up_on_a_broker_that_never_acknowledges(
    broker: Broker, publishers: Publishers, caplog: pytest.LogCaptureFixture
) -> None:
    """The wait for `offline` on shutdown is bounded: a hung broker cannot block it."""
    publisher = publishers()
    broker.freeze()
    try:
        started = time.monotonic()
        publisher.stop(timeout=0.5)
        took = time.monotonic() - started
    finally:
        broker.thaw()
    assert took < 2
    assert "did not confirm 'offline'" in caplog.text

"""mqtt.watch against a real broker: live messages in order, replays only on request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bridge.config import Settings
from bridge.errors import MqttError
from bridge.mqtt.tools import watch
from tests.conftest import BrokerFactory
from tests.support.broker import free_port
from tests.support.mqtt import broker_settings, subscriber

TIMEOUT = 10.0


class Seen:
    """What `watch` handed over, and a way to wait for it."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.changed = threading.Condition()

    def add(self, topic: str, payload: bytes) -> None:
        """Record one message (watch's `on_message`)."""
        with self.changed:
            self.messages.append((topic, payload))
            self.changed.notify_all()

    def wait(self, count: int) -> list[tuple[str, bytes]]:
        """Block until `count` messages arrived; return them all."""
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.messages) >= count, TIMEOUT)
            return list(self.messages)


@contextmanager
def watching(settings: Settings, **options: bool) -> Iterator[Seen]:
    """`watch` in a thread, subscribed to `flume/#` before the block runs."""
    seen, stop, ready = Seen(), threading.Event(), threading.Event()
    thread = threading.Thread(
        target=watch,
        args=(settings, ["flume/#"], seen.add, stop),
        kwargs={"ready": ready, **options},
    )
    thread.start()
    try:
        assert ready.wait(TIMEOUT)
        yield seen
    finally:
        stop.set()
        thread.join(TIMEOUT)
    assert not thread.is_alive()


def test_live_messages_arrive_in_order_and_replays_are_skipped(
    broker_factory: BrokerFactory,
) -> None:
    """What was retained before is left out; what is published now arrives in order."""
    broker = broker_factory()
    with subscriber(broker, ("unused/#",)) as client:
        client.send("flume/status", b"offline", retain=True)
        with watching(broker_settings(broker)) as seen:
            client.send("flume/status", b"online", retain=True)
            client.send("other/topic", b"not watched")
            client.send("flume/1/state", b"{}")
            assert seen.wait(2) == [
                ("flume/status", b"online"),
                ("flume/1/state", b"{}"),
            ]


def test_replayed_messages_are_passed_on_when_asked(
    broker_factory: BrokerFactory,
) -> None:
    """With `replayed=True` the broker's retained messages come first."""
    broker = broker_factory()
    with subscriber(broker, ("unused/#",)) as client:
        client.send("flume/status", b"offline", retain=True)
        with watching(broker_settings(broker), replayed=True) as seen:
            assert seen.wait(1) == [("flume/status", b"offline")]


def test_the_watch_subscribes_again_after_the_broker_restarts(
    broker_factory: BrokerFactory,
) -> None:
    """A broker restart (no persistence) loses the subscription; watch renews it."""
    broker = broker_factory()
    with watching(broker_settings(broker)) as seen:
        broker.restart()
        with subscriber(broker, ("unused/#",)) as client:
            # Publish until the watch is back (paho retries after 1 s, then 2 s ...).
            for _attempt in range(100):
                client.send("flume/status", b"online")
                with seen.changed:
                    if seen.changed.wait_for(lambda: seen.messages, 0.1):
                        break
            assert seen.wait(1)[0] == ("flume/status", b"online")


def test_an_unreachable_broker_is_an_mqtt_error() -> None:
    """Nothing listening: watch gives up at the first failed attempt."""
    settings = Settings(mqtt_host="127.0.0.1", mqtt_port=free_port())
    with pytest.raises(MqttError, match=r"MQTT broker 127\.0\.0\.1"):
        watch(settings, ["flume/#"], lambda *_: None, threading.Event(), timeout=5)

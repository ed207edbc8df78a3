"""A real paho subscriber for tests: records every message and waits for conditions."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from bridge.config import Settings
from bridge.mqtt import Command, MqttPublisher
from tests.support.broker import Broker

TIMEOUT = 10.0
Publishers = Callable[..., MqttPublisher]  # the `publishers` fixture: start one


@dataclass(frozen=True)
class Seen:
    """One message as the subscriber got it, with the monotonic time it arrived."""

    topic: str
    payload: bytes
    retained: bool
    at: float

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.payload)


class Subscriber:
    """Subscribes to `#` (or given filters) and keeps every message it receives.

    It logs in to password and TLS brokers with the fixture's user and certificate.
    """

    def __init__(self, broker: Broker, filters: tuple[str, ...] = ("#",)) -> None:
        self.seen: list[Seen] = []
        self._changed = threading.Condition()
        self._filters = filters
        self._subscribed = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="")
        if broker.username is not None:
            self._client.username_pw_set(broker.username, broker.password)
        if broker.tls is not None:
            self._client.tls_set(
                ca_certs=str(broker.tls.ca_cert),
                certfile=str(broker.tls.client_cert),
                keyfile=str(broker.tls.client_key),
            )
            # It only reads what the broker holds; host names are the bridge's test.
            self._client.tls_insecure_set(True)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.connect(broker.host, broker.port)
        self._client.loop_start()
        assert self._subscribed.wait(TIMEOUT), "subscriber got no SUBACK"

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()

    def send(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish as another client would (HA's birth, a button press)."""
        self._client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def wait_for(
        self, condition: Callable[[list[Seen]], bool], timeout: float = TIMEOUT
    ) -> list[Seen]:
        """Block until `condition(seen)` holds; fail the test after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition(self.seen):
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"timed out; seen: {self.topics()}"
                self._changed.wait(remaining)
            return list(self.seen)

    def wait_topic(self, topic: str, payload: bytes | None = None) -> Seen:
        """Wait for a message on `topic` (with `payload`, if given) and return it."""

        def found(seen: list[Seen]) -> bool:
            return any(_matches(s, topic, payload) for s in seen)

        seen = self.wait_for(found)
        return next(s for s in seen if _matches(s, topic, payload))

    def on(self, topic: str) -> list[Seen]:
        """Every message seen on `topic`, oldest first."""
        with self._changed:
            return [s for s in self.seen if s.topic == topic]

    def topics(self) -> list[str]:
        """The topics seen, in order."""
        with self._changed:
            return [s.topic for s in self.seen]

    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: object
    ) -> None:
        assert not rc.is_failure
        client.subscribe([(f, 1) for f in self._filters])

    def _on_subscribe(self, *_args: object) -> None:
        self._subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._changed:
            self.seen.append(
                Seen(msg.topic, bytes(msg.payload), bool(msg.retain), time.monotonic())
            )
            self._changed.notify_all()


def _matches(seen: Seen, topic: str, payload: bytes | None) -> bool:
    return seen.topic == topic and (payload is None or seen.payload == payload)


@contextmanager
def subscriber(
    broker: Broker, filters: tuple[str, ...] = ("#",)
) -> Iterator[Subscriber]:
    """A connected Subscriber, closed afterwards."""
    sub = Subscriber(broker, filters)
    try:
        yield sub
    finally:
        sub.close()


def broker_settings(broker: Broker, **fields: Any) -> Settings:
    """Settings that point at `broker` with a client id unique to the test."""
    given: dict[str, Any] = {
        "mqtt_host": broker.host,
        "mqtt_port": broker.port,
        "mqtt_client_id": f"test-{time.monotonic_ns()}",
    }
    return Settings(**(given | fields))


def junk_then_press(
    broker: Broker,
    publishers: Publishers,
    topic: str,
    payload: bytes,
    *,
    retained: bool,
) -> MqttPublisher:
    """A publisher sent `payload` on `topic`, then a REPUBLISH press it returns alone.

    Retained junk is on the broker before the publisher subscribes (it is replayed
    then), and is cleared after.
    """
    with subscriber(broker) as sub:
        if retained:
            sub.send(topic, payload, retain=True)
        publisher = publishers()
        if not retained:
            sub.send(topic, payload)
        sub.send("flume/command/republish", b"PRESS")
        assert publisher.pump(timeout=5) == [Command.REPUBLISH]
        if retained:
            sub.send(topic, b"", retain=True)  # leave the broker clean
    return publisher

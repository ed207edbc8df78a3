"""One broker connection: paho's callbacks as events for the caller's thread."""

from __future__ import annotations

import logging
import queue
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from bridge.config import Settings
from bridge.errors import MqttAuthError, MqttError
from bridge.mqtt.client import (
    KEEPALIVE,
    Will,
    build_client,
    certificate_check,
    describe_error,
    refusal_check,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reconnect:
    """Paho's reconnect backoff: doubling from `first` seconds up to `cap`.

    The small cap keeps "back within seconds of the broker's return" true after a long
    outage too (at most 8 s later); an attempt every 8 s costs a broker nothing. A
    broker that refuses us is asked at most `refused_cap` apart instead: its auth
    backend may take minutes to come up, and each refusal is a line in its log.
    """

    first: int = 1
    cap: int = 8
    refused_cap: int = 60


@dataclass(frozen=True, slots=True)
class Connected:
    """The broker accepted the connection (CONNACK success)."""


@dataclass(frozen=True, slots=True)
class Failed:
    """A connection attempt failed or the connection dropped.

    `check` names the variables to fix when retrying cannot help (a refusal).
    """

    reason: str
    check: str | None = None


@dataclass(frozen=True, slots=True)
class Received:
    """A message arrived on one of our subscriptions."""

    topic: str
    payload: bytes
    retained: bool  # delivered because it was retained, not published just now


@dataclass(frozen=True, slots=True)
class Subscribed:
    """The broker acknowledged a SUBSCRIBE."""

    mid: int


Event = Connected | Failed | Received | Subscribed


class Connection:
    """A paho client whose network thread only queues events for the caller's thread.

    `poll()` hands the events over and keeps `connected` and the log up to date;
    `wait_connected()` looks at them without taking them, so the next `poll()` still
    sees every event.
    """

    def __init__(
        self,
        settings: Settings,
        client_id: str,
        *,
        will: Will | None = None,
        reconnect: Reconnect = Reconnect(),  # frozen, so one shared default is safe
        quiet: bool = False,
    ) -> None:
        self.address = f"{settings.mqtt_host}:{settings.mqtt_port}"
        self.connected = False
        self.refusal: MqttAuthError | None = None
        self._settings = settings
        self._events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._backlog: list[Event] = []
        self._ever_connected = False
        self._failures = 0
        self._info = logging.DEBUG if quiet else logging.INFO
        self._warning = logging.DEBUG if quiet else logging.WARNING
        # Paho's thread only: whether this attempt got a CONNACK, and paho's last error.
        self._accepted = False
        self._last_error: str | None = None
        self._reconnect = reconnect
        self._client = build_client(settings, client_id, will)
        self._client.reconnect_delay_set(reconnect.first, reconnect.cap)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.on_log = self._on_log

    def start(self) -> None:
        """Connect in the background; paho's thread retries until `stop()`."""
        clean: dict[str, Any] = (
            {"clean_start": True} if self._settings.mqtt_protocol == "5" else {}
        )
        self._client.connect_async(
            self._settings.mqtt_host, self._settings.mqtt_port, KEEPALIVE, **clean
        )
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect cleanly (no Last Will) and end paho's thread."""
        self._client.disconnect()
        self._client.loop_stop()
        self.connected = False

    def poll(self, timeout: float = 0.0) -> list[Event]:
        """Return the events so far, waiting up to `timeout` seconds for a first one."""
        events, self._backlog = self._backlog, []
        if not events and timeout > 0:
            try:
                events.append(self._note(self._events.get(timeout=timeout)))
            except queue.Empty:
                return []
        while True:
            try:
                events.append(self._note(self._events.get_nowait()))
            except queue.Empty:
                return events

    def wait_connected(self, timeout: float, *, retry: bool = True) -> None:
        """Block until the broker accepted us; the events stay for the next `poll()`.

        Args:
            timeout: seconds to wait in all.
            retry: whether to wait through failed attempts (paho keeps retrying with
                backoff) or to give up on the first one.

        Raises:
            MqttAuthError: the broker refused the credentials or a certificate.
            MqttError: not connected within `timeout` (or at the first failure).
        """
        deadline = time.monotonic() + timeout
        seen: list[Event] = []
        while not self.connected:
            self._raise_refusal(seen)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (not retry and _failures(seen)):
                self._backlog = seen + self._backlog
                raise MqttError(f"MQTT broker {self.address}: {_last(seen)}")
            seen += self.poll(remaining)
        self._backlog = seen + self._backlog

    def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> mqtt.MQTTMessageInfo:
        """Hand a message to paho (which queues QoS > 0 while disconnected)."""
        return self._client.publish(topic, payload, qos=qos, retain=retain)

    def subscribe(self, filters: Iterable[str], qos: int = 1) -> int | None:
        """Subscribe to every filter in one SUBSCRIBE; return its message id."""
        wanted = [(topic, qos) for topic in filters]
        if not wanted:
            return None
        result, mid = self._client.subscribe(wanted)
        return mid if result == MQTTErrorCode.MQTT_ERR_SUCCESS else None

    def unsubscribe(self, filters: Iterable[str]) -> None:
        """Drop subscriptions; the broker's answer does not matter to us."""
        topics = list(filters)
        if topics:
            self._client.unsubscribe(topics)

    def _raise_refusal(self, seen: list[Event]) -> None:
        if self.refusal is not None:
            self._backlog = seen + self._backlog
            raise self.refusal

    def _note(self, event: Event) -> Event:
        """Keep `connected` current and log transitions once, repetitions at DEBUG."""
        if isinstance(event, Connected):
            verb = "reconnected" if self._ever_connected else "connected"
            log.log(self._info, "%s to the MQTT broker %s", verb, self.address)
            self.connected = self._ever_connected = True
            if self.refusal is not None:
                self.refusal = None
                self._client.reconnect_delay_set(
                    self._reconnect.first, self._reconnect.cap
                )
            self._failures = 0
        elif isinstance(event, Failed):
            self._failed(event)
        return event

    def _failed(self, event: Failed) -> None:
        if event.check is not None and self.refusal is None:
            self._refused(event.reason, event.check)
        elif self.connected:
            log.log(self._warning, "lost the MQTT broker %s: %s; reconnecting",
                    self.address, event.reason)  # fmt: skip
        else:
            level = self._warning if self._failures == 0 else logging.DEBUG
            log.log(level, "cannot connect to the MQTT broker %s: %s; retrying",
                    self.address, event.reason)  # fmt: skip
        self.connected = False
        self._failures += 1

    def _refused(self, reason: str, check: str) -> None:
        """A refusal streak begins: one error for the caller, slower retries.

        Only DEBUG here: whoever gets the error says what it means (`run` keeps
        retrying, `check` and `--purge` end with it). It stays the same object until
        the next connect, so a caller can tell a new streak from the same one.
        """
        self.refusal = MqttAuthError(
            f"MQTT broker {self.address}: {reason}; check {check}"
        )
        self._client.reconnect_delay_set(
            self._reconnect.first, self._reconnect.refused_cap
        )
        log.debug("the MQTT broker %s refuses us: %s", self.address, reason)

    # Paho's thread: these only queue what happened.

    def _on_connect(
        self, _c: mqtt.Client, _u: object, _f: object, code: ReasonCode, _p: object
    ) -> None:
        self._last_error = None
        if code.is_failure:
            self._events.put(
                Failed(f"login refused ({code.getName()})", refusal_check(code))
            )
        else:
            self._accepted = True
            self._events.put(Connected())

    def _on_connect_fail(self, _c: mqtt.Client, _u: object) -> None:
        # Paho calls this inside its `except OSError`, which still holds the cause.
        error = sys.exc_info()[1]
        reason = describe_error(error)
        self._events.put(Failed(reason, certificate_check(error, reason)))

    def _on_disconnect(
        self, _c: mqtt.Client, _u: object, _f: object, code: ReasonCode, _p: object
    ) -> None:
        accepted, self._accepted = self._accepted, False
        if code.value == 0:  # our own disconnect()
            return
        # Paho reports only "Unspecified error"; its log line holds the cause, e.g. a
        # broker that rejects our client certificate after the TLS handshake.
        reason = self._last_error or f"connection closed ({code.getName()})"
        self._last_error = None
        check = None if accepted else certificate_check(None, reason)
        self._events.put(Failed(reason, check))

    def _on_log(self, _c: mqtt.Client, _u: object, level: int, text: str) -> None:
        if level == mqtt.MQTT_LOG_ERR:
            self._last_error = text

    def _on_message(
        self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage
    ) -> None:
        self._events.put(
            Received(message.topic, bytes(message.payload), bool(message.retain))
        )

    def _on_subscribe(
        self, _c: mqtt.Client, _u: object, mid: int, _codes: object, _p: object
    ) -> None:
        self._events.put(Subscribed(mid))


def _failures(events: list[Event]) -> bool:
    return any(isinstance(event, Failed) for event in events)


def _last(events: list[Event]) -> str:
    failures = [event.reason for event in events if isinstance(event, Failed)]
    return failures[-1] if failures else "no answer in time"

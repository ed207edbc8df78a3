"""MqttPublisher: status and Last Will, the retained snapshot re-sent, the inbox."""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from bridge.config import Settings
from bridge.contract.payloads import OFFLINE, ONLINE
from bridge.contract.topics import Topics
from bridge.errors import MqttAuthError, MqttError
from bridge.models import Message
from bridge.mqtt.client import Will
from bridge.mqtt.commands import Command, Inbox, SetAway, ignored
from bridge.mqtt.connection import (
    Connected,
    Connection,
    Event,
    Received,
    Reconnect,
    Subscribed,
)

log = logging.getLogger(__name__)

# Events (not retained) published while the broker is away, sent when it is back.
PENDING_LIMIT: Final = 100


@dataclass(frozen=True, slots=True)
class Timing:
    """The re-send delay after HA's birth and paho's reconnect backoff.

    The birth delay is a random pick between its two bounds: HA asks for jitter so
    that many clients do not answer its birth at the same moment.
    """

    birth_delay: tuple[float, float] = (2.0, 5.0)
    reconnect: Reconnect = field(default_factory=Reconnect)


class MqttPublisher:
    """Publishes the bridge's messages and keeps them on the broker.

    It remembers the newest retained message per topic and re-sends them (discovery
    first) on every connect and once after Home Assistant's birth message. Paho's
    thread only queues events; `pump()`, called often by the main thread, acts on them
    and returns the commands for the service. A broker outage never raises; a broker
    that refuses us raises once per streak (until the next connect) while paho keeps
    asking it, so that the caller decides whether that ends it.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        client_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        timing: Timing = Timing(),  # frozen, so one shared default is safe
    ) -> None:
        topics = Topics.of(settings)
        self.status_topic = topics.status
        self._discovery_prefix = f"{topics.prefix}/"
        self._ha_status = topics.ha_status
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311  # jitter, not cryptography
        self._timing = timing
        self._connection = Connection(
            settings,
            client_id or settings.mqtt_client_id,
            will=Will(self.status_topic, OFFLINE),
            reconnect=timing.reconnect,
        )
        self._snapshot: dict[str, Message] = {}
        self._pending: deque[Message] = deque(maxlen=PENDING_LIMIT)
        self._inbox = Inbox(topics)
        self._birth_due: float | None = None
        self._subscription: int | None = None  # SUBSCRIBE awaiting its SUBACK
        self._raised: MqttAuthError | None = None  # the refusal streak raised already
        self.resends = 0  # snapshot re-sends so far (connects, births, republish)

    @property
    def connected(self) -> bool:
        """Whether the broker accepted us, as of the last `pump()`."""
        return self._connection.connected

    @property
    def refusal(self) -> MqttAuthError | None:
        """Why the broker refuses us, from its first refusal to the next connect."""
        return self._connection.refusal

    def start(self) -> None:
        """Connect in the background; paho retries with backoff until `stop()`."""
        self._connection.start()

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until connected and announced (`online` and the snapshot sent).

        Raises:
            MqttAuthError: the broker refused the credentials or a certificate.
            MqttError: not connected within `timeout` seconds (paho keeps trying).
        """
        deadline = time.monotonic() + timeout
        try:
            self._connection.wait_connected(timeout)
        except MqttAuthError as refusal:
            self._raised = refusal
            raise
        self._process(self._connection.poll())
        # Also wait for SUBACK, so that a birth or button press sent after we return
        # reaches us.
        while self._subscription is not None:
            remaining = deadline - time.monotonic()
            self._raise_refusal()
            if remaining <= 0:
                raise MqttError(f"MQTT broker {self._connection.address}: no SUBACK")
            self._process(self._connection.poll(remaining))

    def publish(self, message: Message) -> None:
        """Send `message`; a retained one also becomes the topic's snapshot entry.

        While the broker is away retained messages wait in the snapshot and the rest
        (events) in a short queue; both go out on reconnect.
        """
        if message.retain:
            self._snapshot[message.topic] = message
        if self._connection.connected:
            self._send(message)
        elif not message.retain:
            self._pending.append(message)

    def republish(self) -> None:
        """Re-send the snapshot now (the service's answer to REPUBLISH)."""
        self._resend("republish")

    def pump(self, timeout: float = 0.0) -> list[Command]:
        """Act on what paho saw and return the commands received, oldest first.

        Re-sends the snapshot after a (re)connect and when a birth's delay is over.
        Waits up to `timeout` seconds for a command, acting on events meanwhile.

        Raises:
            MqttAuthError: the broker began to refuse the credentials or a
                certificate (once per streak; paho asks again, at most a minute apart).
        """
        deadline = time.monotonic() + timeout
        while True:
            self._process(self._connection.poll(self._wait(deadline)))
            self._raise_refusal()
            if self._birth_due is not None and self._clock() >= self._birth_due:
                self._birth_due = None
                self._resend("Home Assistant birth")
            if self._inbox.waiting or time.monotonic() >= deadline:
                return self._inbox.commands()

    def away_requests(self) -> list[SetAway]:
        """The away-mode commands received since the last call, one per location."""
        return self._inbox.away_requests()

    def stop(self, timeout: float = 5.0) -> None:
        """Publish `offline`, wait up to `timeout` s for its ack, disconnect."""
        self._process(self._connection.poll())
        if self._connection.connected:
            info = self._connection.publish(
                self.status_topic, OFFLINE, qos=1, retain=True
            )
            if not delivered(info, timeout):
                log.warning(
                    "the MQTT broker did not confirm 'offline' in %.0f s", timeout
                )
        self._connection.stop()

    def __enter__(self) -> MqttPublisher:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def _raise_refusal(self) -> None:
        refusal = self._connection.refusal
        if refusal is not None and refusal is not self._raised:
            self._raised = refusal
            raise refusal

    def _wait(self, deadline: float) -> float:
        remaining = deadline - time.monotonic()
        if self._birth_due is not None:
            remaining = min(remaining, self._birth_due - self._clock())
        return max(0.0, remaining)

    def _process(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, Connected):
                self._announce()
            elif isinstance(event, Received):
                self._received(event)
            elif isinstance(event, Subscribed) and event.mid == self._subscription:
                self._subscription = None

    def _announce(self) -> None:
        """On every connect: `online`, the subscriptions, the snapshot, held events."""
        self._send(Message(self.status_topic, ONLINE, retain=True))
        filters = [self._ha_status, *self._inbox.filters()]
        self._subscription = self._connection.subscribe(filters)
        self._resend("connect")
        while self._pending and self._connection.connected:
            self._send(self._pending.popleft())

    def _resend(self, why: str) -> None:
        if not self._connection.connected:
            return  # the next connect re-sends anyway
        # Discovery before states: HA drops states for entities it does not know yet.
        ordered = sorted(
            self._snapshot.values(),
            key=lambda message: not message.topic.startswith(self._discovery_prefix),
        )
        for message in ordered:
            self._send(message)
        self.resends += 1
        log.debug("re-sent %d retained messages (%s)", len(ordered), why)

    def _send(self, message: Message) -> None:
        info = self._connection.publish(
            message.topic, message.payload, qos=message.qos, retain=message.retain
        )
        # NO_CONN: paho holds QoS 1 messages for the reconnect; the snapshot covers
        # retained ones either way.
        if info.rc not in (
            MQTTErrorCode.MQTT_ERR_SUCCESS,
            MQTTErrorCode.MQTT_ERR_NO_CONN,
        ):
            log.debug(
                "publish to %s not queued: %s",
                message.topic,
                mqtt.error_string(info.rc),
            )

    def _received(self, event: Received) -> None:
        if event.topic == self._ha_status:
            self._birth(event)
        else:
            self._inbox.add(event)

    def _birth(self, event: Received) -> None:
        # A retained `online` is an old birth replayed on subscribe: the connect
        # re-send has covered it already.
        if event.retained or event.payload.strip() != ONLINE:
            ignored(event)
            return
        if self._birth_due is not None:
            log.debug("Home Assistant birth again; the re-send is already planned")
            return
        delay = self._rng.uniform(*self._timing.birth_delay)
        self._birth_due = self._clock() + delay
        log.info(
            "Home Assistant is online; re-sending discovery and states in %.1f s", delay
        )


def delivered(info: mqtt.MQTTMessageInfo, timeout: float) -> bool:
    """Whether the broker acknowledged the publish within `timeout` seconds."""
    try:
        info.wait_for_publish(timeout)
    except (ValueError, RuntimeError):  # paho's "not queued" and "failed"
        return False
    return info.is_published()

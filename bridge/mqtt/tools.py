"""Broker jobs on their own connection: the check probe, purge, watch and recall."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from bridge.config import Settings
from bridge.errors import MqttError
from bridge.mqtt.connection import (
    Connected,
    Connection,
    Event,
    Failed,
    Received,
    Subscribed,
)
from bridge.mqtt.publisher import delivered

WATCH_POLL = 0.1  # seconds between looks at the stop event


def describe(settings: Settings) -> str:
    """Where and how `settings` connect, for the `check` report; never the password."""
    if not settings.mqtt_tls:
        security = "no TLS"
    elif settings.mqtt_cert_file is not None:
        security = "TLS, client certificate"
    else:
        security = "TLS"
    if settings.mqtt_tls and settings.mqtt_tls_insecure:
        security += ", host name not checked"
    user = f"user {settings.mqtt_username}" if settings.mqtt_username else "anonymous"
    return (
        f"{settings.mqtt_host}:{settings.mqtt_port} "
        f"({security}, {user}, MQTT {settings.mqtt_protocol})"
    )


def probe(settings: Settings, *, timeout: float = 5.0) -> str:
    """Connect once as `check` does, publish nothing, and describe the connection.

    Raises:
        MqttAuthError: the broker refused the credentials or a certificate.
        MqttError: the broker could not be reached.
    """
    with connected(settings, "check", timeout):
        return describe(settings)


@contextmanager
def connected(
    settings: Settings, role: str, timeout: float, *, retry: bool = False
) -> Iterator[Connection]:
    """A connection of its own, up until the block ends.

    Its client id (`<MQTT_CLIENT_ID>-<role>`) keeps a running bridge connected, and
    without a Last Will it leaves every retained topic alone. With `retry`, failed
    attempts are waited through until `timeout` (a broker may start after us).

    Raises:
        MqttAuthError: the broker refused the credentials or a certificate.
        MqttError: the broker could not be reached within `timeout` seconds.
    """
    connection = Connection(settings, f"{settings.mqtt_client_id}-{role}", quiet=True)
    connection.start()
    try:
        connection.wait_connected(timeout, retry=retry)
        yield connection
    finally:
        connection.stop()


def purge(
    settings: Settings,
    filters: Iterable[str],
    is_owned: Callable[[str], bool],
    *,
    settle: float = 1.0,
    timeout: float = 10.0,
) -> int:
    """Clear every retained topic under `filters` that `is_owned`; return how many.

    Raises:
        MqttAuthError: the broker refused the credentials or a certificate.
        MqttError: the broker could not be reached or went away.
    """
    with connected(settings, "purge", timeout) as connection:
        found = collect_retained(connection, list(filters), is_owned, settle, timeout)
        topics = sorted(found)
        infos = [connection.publish(topic, b"", retain=True) for topic in topics]
        deadline = time.monotonic() + timeout
        for info in infos:
            if not delivered(info, max(0.0, deadline - time.monotonic())):
                raise MqttError(f"the MQTT broker {connection.address} did not confirm")
        return len(topics)


def collect_retained(
    connection: Connection,
    filters: list[str],
    is_owned: Callable[[str], bool],
    settle: float,
    timeout: float,
) -> dict[str, bytes]:
    """Subscribe to `filters` and gather the owned retained messages, topic -> payload.

    The broker sends retained messages right after SUBACK; once `settle` seconds pass
    without one, it has sent them all.

    Raises:
        MqttError: no SUBACK within `timeout` seconds, or the connection dropped.
    """
    mid = connection.subscribe(filters)
    deadline = time.monotonic() + timeout
    quiet_at: float | None = None if mid is not None else time.monotonic()
    found: dict[str, bytes] = {}
    while quiet_at is None or time.monotonic() < quiet_at:
        if quiet_at is None and time.monotonic() >= deadline:
            raise MqttError(f"the MQTT broker {connection.address} did not answer")
        wait = (quiet_at if quiet_at is not None else deadline) - time.monotonic()
        for event in connection.poll(max(0.0, wait)):
            if isinstance(event, Failed):
                raise MqttError(f"MQTT broker {connection.address}: {event.reason}")
            if isinstance(event, Subscribed) and event.mid == mid:
                quiet_at = time.monotonic() + settle
            elif isinstance(event, Received) and _owned(event, is_owned):
                found[event.topic] = event.payload
                quiet_at = time.monotonic() + settle
    connection.unsubscribe(filters)
    return found


def retained(
    settings: Settings,
    filters: Sequence[str],
    *,
    settle: float = 1.0,
    timeout: float = 10.0,
) -> dict[str, bytes]:
    """The retained messages under `filters`, topic -> payload (cleared ones left out).

    For the service's recall of a lost meter (`-recall`): waits through failed attempts
    up to `timeout`, since the broker may start after us.

    Raises:
        MqttAuthError: the broker refused the credentials or a certificate.
        MqttError: the broker could not be reached, or did not answer in time.
    """
    with connected(settings, "recall", timeout, retry=True) as connection:
        return collect_retained(
            connection, list(filters), lambda _topic: True, settle, timeout
        )


def _owned(event: Received, is_owned: Callable[[str], bool]) -> bool:
    return event.retained and bool(event.payload) and is_owned(event.topic)


def watch(  # noqa: PLR0913  # keywords only after the four the demo always passes
    settings: Settings,
    filters: Sequence[str],
    on_message: Callable[[str, bytes], None],
    stop: threading.Event,
    *,
    ready: threading.Event | None = None,
    replayed: bool = False,
    timeout: float = 10.0,
) -> None:
    """Call `on_message(topic, payload)` for each message under `filters` until `stop`.

    Args:
        settings: the broker to watch; a client id of its own (`-watch`) keeps a bridge
            with the same settings connected.
        filters: the subscription's topic filters.
        on_message: called in this thread, in the order the broker sent them.
        stop: set it (from any thread) to disconnect and return.
        ready: set once the broker acknowledged the subscription, so that what is
            published from then on is seen.
        replayed: whether to pass on the retained messages the broker replays on
            subscribing too, or only what is published from now on.
        timeout: seconds to wait for the first connection.

    Raises:
        MqttAuthError: the broker refused the credentials or a certificate.
        MqttError: the broker could not be reached.
    """
    with connected(settings, "watch", timeout) as connection:
        while not stop.is_set():
            for event in connection.poll(WATCH_POLL):
                _watched(connection, filters, event, on_message, ready, replayed)


def _watched(
    connection: Connection,
    filters: Sequence[str],
    event: Event,
    on_message: Callable[[str, bytes], None],
    ready: threading.Event | None,
    replayed: bool,
) -> None:
    if isinstance(event, Connected):
        # A clean session each time: a reconnect must subscribe again.
        connection.subscribe(filters)
    elif isinstance(event, Subscribed) and ready is not None:
        ready.set()
    elif isinstance(event, Received) and (replayed or not event.retained):
        on_message(event.topic, event.payload)

"""Reading what the broker retains: the bridge's own states, to recover a lost meter."""

from __future__ import annotations

import time
from collections.abc import Sequence

from bridge.config import Settings
from bridge.errors import MqttError
from bridge.mqtt.connection import Connection, Failed, Received, Subscribed


def retained(
    settings: Settings,
    filters: Sequence[str],
    *,
    settle: float = 1.0,
    timeout: float = 10.0,
) -> dict[str, bytes]:
    """The retained messages under `filters`, topic -> payload (cleared ones left out).

    Connects with a client id of its own (`-recall`) and no Last Will, waiting through
    failed attempts up to `timeout` (a broker may start after us). The broker replays
    retained messages right after SUBACK; once `settle` seconds pass without one, it
    has sent them all.

    Raises:
        MqttAuthError: the broker refused the credentials or a certificate.
        MqttError: the broker could not be reached, or did not answer in time.
    """
    connection = Connection(settings, f"{settings.mqtt_client_id}-recall", quiet=True)
    connection.start()
    try:
        connection.wait_connected(timeout)
        return _collect(connection, filters, settle, time.monotonic() + timeout)
    finally:
        connection.stop()


def _collect(
    connection: Connection, filters: Sequence[str], settle: float, deadline: float
) -> dict[str, bytes]:
    mid = connection.subscribe(filters)
    quiet_at: float | None = None
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
            elif isinstance(event, Received) and event.retained and event.payload:
                found[event.topic] = event.payload
                quiet_at = time.monotonic() + settle
    return found

"""What `flume-mqtt discovery` shows: the messages a start would publish, as text."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final

from bridge.discovery import MessageBuilder
from bridge.models import BRIDGE, Device, Message

PREVIEW_WIDTH: Final = 72  # of a payload in the plain listing


def start_messages(
    builder: MessageBuilder, devices: Sequence[Device], now: datetime
) -> list[Message]:
    """Discovery, status, then each device's availability and state, as at a start.

    States hold what the device list tells (connection, battery, last seen); usage
    stays null until the service has polled it. A sensor counts as available when
    Flume calls it connected.
    """
    messages = [*builder.discovery_messages(devices), builder.status_message(True)]
    for device in devices:
        if device.is_sensor:
            online = device.connected is True
            messages.append(builder.availability_message(device.id, online))
        if device.is_sensor or device.type == BRIDGE:
            messages.append(builder.device_state(device, now))
    return messages


def decoded(message: Message) -> object:
    """The payload as JSON when it is a JSON object or list, else as text."""
    text = message.payload.decode("utf-8", errors="replace")
    if text.startswith(("{", "[")):
        try:
            document: object = json.loads(text)
        except ValueError:
            return text
        return document
    return text


def as_json(messages: Iterable[Message]) -> str:
    """`[{"topic", "retain", "payload"}]`, payloads parsed where they are JSON."""
    listing = [
        {"topic": m.topic, "retain": m.retain, "payload": decoded(m)} for m in messages
    ]
    return json.dumps(listing, indent=2, ensure_ascii=False)


def as_text(messages: Sequence[Message]) -> str:
    """One line per message: topic, retained or not, and what it says in short."""
    width = max((len(m.topic) for m in messages), default=0)
    lines = [
        f"{m.topic:<{width}}  {'retained' if m.retain else '        '}  {summary(m)}"
        for m in messages
    ]
    lines.append(
        f"{len(messages)} messages; `flume-mqtt discovery --json` shows them in full"
    )
    return "\n".join(lines)


def summary(message: Message) -> str:
    """A discovery config as its device and entities; anything else shortened."""
    document = decoded(message)
    if isinstance(document, dict) and isinstance(document.get("device"), dict):
        device = document["device"].get("name", "?")
        if isinstance(document.get("cmps"), dict):
            return f"{device}: {len(document['cmps'])} entities"
        return f"{device}: {document.get('name', '?')}"
    text = message.payload.decode("utf-8", errors="replace")
    return text if len(text) <= PREVIEW_WIDTH else text[: PREVIEW_WIDTH - 1] + "…"

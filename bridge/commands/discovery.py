"""`flume-mqtt discovery`: the messages a start would publish, or the broker's purge."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from contextlib import closing
from datetime import UTC, datetime
from typing import Final

from bridge import app, mqtt
from bridge.config import Settings
from bridge.contract import Contract
from bridge.flume.client import served
from bridge.models import Device, Message
from bridge.service.board import Board

PREVIEW_WIDTH: Final = 72  # of a payload in the plain listing


def preview(settings: Settings, *, as_json_list: bool) -> str:
    """The start's messages for the account's devices, listed with the saved token.

    Raises:
        ConfigError: FLUME_DEVICE_IDS names a device the account does not have.
        FlumeAuthError: Flume refused the client or the account.
        FlumeError: Flume could not be reached or answered nonsense.
    """
    # The token file saves a login; a refresh here is saved there for the service.
    with closing(app.account(settings, app.credentials(settings))) as client:
        devices = served(client.devices(), settings.flume_device_ids)
    messages = start_messages(Contract.of(settings), devices, datetime.now(UTC))
    return as_json(messages) if as_json_list else as_text(messages)


def start_messages(
    contract: Contract, devices: Sequence[Device], now: datetime
) -> list[Message]:
    """Discovery, status, then each device's availability and state, as at a start.

    States hold what the device list tells (connection, battery, last seen); usage
    stays null until the service has polled it. A sensor counts as available when
    Flume calls it connected.
    """
    # No usage yet, so `total` is null whatever METER_OFFSET says.
    payloads, board = contract.payloads, Board(contract.units, meter_offset=0.0)
    board.replace_devices(devices)
    messages = [*contract.discovery.configs(devices), payloads.status(True)]
    for device in devices:
        if device.is_sensor:
            messages.append(payloads.availability(device.id, device.connected is True))
        state = board.state(device.id, now)
        if state is not None:
            messages.append(payloads.state(state))
    return messages


def purge(settings: Settings) -> str:
    """Clear every retained topic the bridge owns on the broker; say how many.

    Discovery ids name no account, so the Flume devices to clear are those with a
    state or availability under this MQTT_BASE_TOPIC: another flume-mqtt process
    sharing the broker and discovery prefix keeps its devices.

    Raises:
        MqttAuthError: the broker refused the credentials or a certificate.
        MqttError: the broker could not be reached.
    """
    topics = Contract.of(settings).topics
    seen: set[str] = set()

    def note(topic: str) -> bool:
        device_id = topics.device_id_of(topic)
        if device_id is not None:
            seen.add(device_id)
        return False  # a first look only: nothing is cleared yet

    mqtt.purge(settings, topics.device_filters(), note)
    count = mqtt.purge(
        settings, topics.owned_filters(), lambda topic: topics.is_owned(topic, seen)
    )
    noun = "topic" if count == 1 else "topics"
    return f"purged {count} retained {noun} from {mqtt.describe(settings)}"


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

"""`discovery --purge` against real mosquitto: clears what is ours, nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.cli import main
from bridge.commands.discovery import start_messages
from bridge.config import Settings
from bridge.contract import Contract
from bridge.models import Device, Location
from tests.conftest import BrokerFactory
from tests.support.broker import Broker, free_port
from tests.support.contract import device_state
from tests.support.mqtt import subscriber

NOW = datetime(2026, 11, 28, 12, 34, tzinfo=UTC)
HOME = Location(1, "Home", "UTC")
HUB = Device("6248148189204194986", 1, 1, HOME, connected=True)
SENSOR = Device("6248148189204194987", 2, 1, HOME, bridge_id=HUB.id, connected=True)
GONE = "1111"  # left the account; its state and config are still retained
FOREIGN = {
    "homeassistant/status": b"online",  # Home Assistant's birth
    "homeassistant/device/flume_2222/config": b'{"p": 1}',  # another account's
    "homeassistant/sensor/0x00158d/temperature/config": b"{}",
    "zigbee2mqtt/bridge/state": b'{"state": "online"}',
    "other/flume/status": b"online",
}
MARKER = "test/marker"


def retained(broker: Broker) -> dict[str, bytes]:
    """Every retained message on the broker, read by a fresh subscriber."""
    with subscriber(broker) as sub:
        # Retained messages come before anything published after the SUBACK.
        sub.send(MARKER, b"done")
        seen = sub.wait_for(lambda s: any(m.topic == MARKER for m in s))
    return {m.topic: m.payload for m in seen if m.retained}


def seed(broker: Broker) -> set[str]:
    """Publish a started bridge's retained messages and others'; return ours."""
    made = Contract.of(Settings(), version="1")
    ours = [
        *start_messages(made, [HUB, SENSOR], NOW),
        made.payloads.status(False),
        *made.discovery.configs([Device(GONE, 2, 1, HOME)])[-1:],
        device_state(made, Device(GONE, 2, 1, HOME), NOW),
    ]
    with subscriber(broker) as sub:
        for message in ours:
            sub.send(message.topic, message.payload, retain=True)
        for topic, payload in FOREIGN.items():
            sub.send(topic, payload, retain=True)
    return {m.topic for m in ours}


def purge(monkeypatch: pytest.MonkeyPatch, port: int, **env: str) -> int:
    """Run `discovery --purge` in-process, with no Flume settings at all."""
    settings = {"MQTT_HOST": "127.0.0.1", "MQTT_PORT": str(port), **env}
    for name, value in {**settings, "MQTT_CLIENT_ID": "purge-test"}.items():
        monkeypatch.setenv(name, value)
    return main(["--log-level", "WARNING", "discovery", "--purge"])


def test_purge_clears_every_retained_topic_of_ours_and_only_those(
    broker_factory: BrokerFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Status, states, availability and our configs go; others' topics stay."""
    broker = broker_factory()
    ours = seed(broker)
    assert set(retained(broker)) == ours | set(FOREIGN)
    code = purge(monkeypatch, broker.port)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out == (
        f"purged {len(ours)} retained topics from 127.0.0.1:{broker.port} "
        "(no TLS, anonymous, MQTT 3.1.1)\n"
    )
    assert retained(broker) == FOREIGN
    assert purge(monkeypatch, broker.port) == 0
    assert capsys.readouterr().out.startswith("purged 0 retained topics from ")


def test_a_refused_broker_password_is_exit_78_with_one_line(
    mosquitto_auth: Broker,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A wrong MQTT_PASSWORD is one stderr line, exit 78, never the password."""
    code = purge(
        monkeypatch,
        mosquitto_auth.port,
        MQTT_USERNAME="bridge",
        MQTT_PASSWORD="not-the-secret",
    )
    out, err = capsys.readouterr()
    assert code == 78
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("broker credential error: ")
    assert "not-the-secret" not in err


def test_an_unreachable_broker_is_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nobody listening on the port is a transient failure: one line, exit 1."""
    code = purge(monkeypatch, free_port())
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("mqtt error: ")

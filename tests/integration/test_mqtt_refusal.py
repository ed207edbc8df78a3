"""MqttPublisher and a broker that refuses it for a while: raised once, waited out."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from bridge.errors import MqttAuthError
from bridge.models import Message
from bridge.mqtt import MqttPublisher, Reconnect, Timing
from tests.conftest import BrokerFactory
from tests.support.broker import Broker
from tests.support.mqtt import broker_settings, subscriber

PASSWORD = "broker-secret"
ROTATED = "rotated-secret"
STATE = "flume/1/state"
WAIT = 30.0  # for anything on a loaded machine; never an assertion on speed
# Every second, refused or not: several refusals within a short test.
BRISK = Timing(reconnect=Reconnect(first=1, cap=1, refused_cap=1))


@pytest.fixture
def broker(broker_factory: BrokerFactory) -> Broker:
    """A broker that accepts user `bridge` with PASSWORD, for now."""
    return broker_factory(username="bridge", password=PASSWORD)


@pytest.fixture
def publisher(broker: Broker) -> Iterator[MqttPublisher]:
    """A publisher logged in to `broker`, with a retained state sent."""
    settings = broker_settings(broker, mqtt_username="bridge", mqtt_password=PASSWORD)
    found = MqttPublisher(settings, timing=BRISK)
    found.start()
    try:
        found.wait_connected(WAIT)
        found.publish(Message(STATE, b'{"total": 1.5}', retain=True))
        yield found
    finally:
        found.stop(timeout=1)


def pump_until(publisher: MqttPublisher, done: Callable[[], bool]) -> int:
    """Pump as the service does until `done()`; return how many refusals it raised."""
    raised, deadline = 0, time.monotonic() + WAIT
    while not done():
        assert time.monotonic() < deadline, "timed out"
        try:
            publisher.pump(timeout=0.1)
        except MqttAuthError:
            raised += 1
    return raised


def refusals(broker: Broker) -> int:
    """The logins the broker has refused so far (its log file outlives restarts)."""
    return (broker.directory / "mosquitto.log").read_text().count("not authorised")


def test_a_refusal_is_raised_once_per_streak_and_the_snapshot_follows_the_fix(
    publisher: MqttPublisher, broker: Broker
) -> None:
    """One raise per refusal streak while paho asks on; a login re-sends the state."""
    for streak in range(2):
        before = refusals(broker)
        broker.restart_with_password(ROTATED)
        wanted = before + 3
        raised = pump_until(publisher, lambda: refusals(broker) >= wanted)  # noqa: B023  # called within the turn
        assert raised == 1, f"streak {streak}"
        assert "check MQTT_USERNAME and MQTT_PASSWORD" in str(publisher.refusal)
        assert not publisher.connected
        broker.restart_with_password(PASSWORD)
        assert pump_until(publisher, lambda: publisher.connected) == 0
        assert publisher.refusal is None
        with subscriber(broker, (STATE,)) as sub:
            assert sub.wait_topic(STATE).json() == {"total": 1.5}


def test_a_refusal_at_the_first_connect_is_raised_by_wait_connected_only(
    broker: Broker,
) -> None:
    """Refused from the start: wait_connected raises; pump does not raise it again."""
    settings = broker_settings(broker, mqtt_username="bridge", mqtt_password=ROTATED)
    publisher = MqttPublisher(settings, timing=BRISK)
    publisher.start()
    try:
        with pytest.raises(MqttAuthError, match="login refused"):
            publisher.wait_connected(WAIT)
        assert pump_until(publisher, lambda: refusals(broker) >= 3) == 0
    finally:
        publisher.stop(timeout=1)

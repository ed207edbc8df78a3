"""mqtt.purge against a real broker: clears the owned retained topics, nothing else."""

from __future__ import annotations

import pytest

from bridge.errors import MqttAuthError
from bridge.mqtt import purge
from tests.conftest import BrokerFactory
from tests.support.broker import Broker
from tests.support.mqtt import broker_settings, subscriber

FILTERS = ("flume/#", "homeassistant/device/+/config")
OWNED = ("flume/status", "flume/1/state", "homeassistant/device/flume_1/config")
OTHERS = ("homeassistant/device/zigbee_7/config", "other/keep")


def is_owned(topic: str) -> bool:
    return topic.startswith("flume/") or "/flume_" in topic


@pytest.fixture
def broker(broker_factory: BrokerFactory) -> Broker:
    """A fresh broker holding retained topics of ours and of other programs."""
    broker = broker_factory()
    with subscriber(broker, ("unused/#",)) as client:
        for topic in OWNED + OTHERS:
            client.send(topic, b'{"x": 1}', retain=True)
    return broker


def retained_topics(broker: Broker) -> set[str]:
    with subscriber(broker) as late:
        late.send("zz/marker", b"1")  # after every retained message on subscribe
        late.wait_topic("zz/marker")
        return {s.topic for s in late.seen if s.retained}


def test_purge_clears_what_the_bridge_owns_and_keeps_the_rest(broker: Broker) -> None:
    """Owned retained topics are emptied and counted; other programs' topics stay."""
    assert purge(broker_settings(broker), FILTERS, is_owned, settle=0.2) == 3
    assert retained_topics(broker) == set(OTHERS)


def test_a_second_purge_finds_nothing_and_announces_nothing(broker: Broker) -> None:
    """Purge publishes no status of its own: once clean, the broker stays clean."""
    settings = broker_settings(broker)
    purge(settings, FILTERS, is_owned, settle=0.2)
    assert purge(settings, FILTERS, is_owned, settle=0.2) == 0
    assert "flume/status" not in retained_topics(broker)


def test_purge_with_a_wrong_password_is_a_permanent_error(
    mosquitto_auth: Broker,
) -> None:
    """The purge's login failure is MqttAuthError, as for the service."""
    settings = broker_settings(
        mosquitto_auth, mqtt_username="bridge", mqtt_password="wrong"
    )
    with pytest.raises(MqttAuthError):
        purge(settings, FILTERS, is_owned, settle=0.2)

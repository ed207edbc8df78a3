"""mqtt.retained against a real broker: what is retained, and nothing else."""

from __future__ import annotations

import pytest

from bridge.config import Settings
from bridge.errors import MqttAuthError, MqttError
from bridge.mqtt.retained import retained
from tests.conftest import BrokerFactory
from tests.support.broker import Broker, free_port
from tests.support.mqtt import broker_settings, subscriber


def test_the_retained_states_are_read_back_and_cleared_ones_left_out(
    broker: Broker,
) -> None:
    """Two retained states, one cleared, one live message: the two states come back."""
    with subscriber(broker, ("flume/#",)) as other:
        other.send("flume/1/state", b'{"total": 1}', retain=True)
        other.send("flume/2/state", b'{"total": 2}', retain=True)
        other.send("flume/3/state", b"x", retain=True)
        other.send("flume/3/state", b"", retain=True)  # cleared
        other.send("flume/4/state", b"not retained")
        other.send("flume/2/availability", b"online", retain=True)
    found = retained(broker_settings(broker), ["flume/+/state"], settle=0.3)
    assert found == {"flume/1/state": b'{"total": 1}', "flume/2/state": b'{"total": 2}'}


def test_an_empty_broker_answers_nothing_after_the_settle(broker: Broker) -> None:
    """No retained state: an empty answer, not an error."""
    assert retained(broker_settings(broker), ["flume/+/state"], settle=0.3) == {}


def test_no_broker_is_an_mqtt_error_after_the_timeout() -> None:
    """Nothing listening on the port: MqttError once the wait is over."""
    port = free_port()
    settings = Settings(mqtt_host="127.0.0.1", mqtt_port=port, mqtt_client_id="t-none")
    with pytest.raises(MqttError, match="MQTT broker"):
        retained(settings, ["flume/+/state"], timeout=1.5)


def test_a_refused_login_is_an_auth_error(broker_factory: BrokerFactory) -> None:
    """A wrong password: MqttAuthError at once, naming what to check."""
    locked = broker_factory(username="bridge", password="broker-secret")
    settings = broker_settings(locked, mqtt_username="bridge", mqtt_password="wrong")
    with pytest.raises(MqttAuthError):
        retained(settings, ["flume/+/state"], timeout=10)

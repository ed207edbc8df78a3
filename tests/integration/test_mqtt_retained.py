"""mqtt.retained against a real broker: what is retained, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import Settings
from bridge.errors import MqttAuthError, MqttError
from bridge.meter import METER_FILE, PREVIOUS, Meter
from bridge.mqtt.tools import retained
from bridge.service.recovery import recover_from_broker
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


def test_a_lost_meter_is_restored_from_the_brokers_retained_state(
    broker: Broker, tmp_path: Path
) -> None:
    """Both meter files garbage: the sensor's count comes back from its state."""
    state = (
        b'{"device_id": "77", "unit": "L", "total": 378.5411784,'
        b' "total_since": "2026-11-28T12:00:00Z",'
        b' "total_through": "2026-11-28T13:00:00Z"}'
    )
    with subscriber(broker, ("flume/#",)) as other:
        other.send("flume/77/state", state, retain=True)
    for name in (METER_FILE, PREVIOUS):
        (tmp_path / name).write_bytes(b"garbage")
    meter = Meter(tmp_path)
    recover_from_broker(broker_settings(broker), meter)
    reading = meter.reading("77")
    assert reading is not None
    assert reading.gallons == pytest.approx(100.0, abs=1e-9)
    assert reading.through.isoformat() == "2026-11-28T13:00:00+00:00"

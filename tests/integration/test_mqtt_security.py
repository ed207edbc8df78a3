"""MqttPublisher and the probe against password, TLS and MQTT 5 brokers."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bridge.errors import ConfigError, MqttAuthError, MqttError
from bridge.models import Message
from bridge.mqtt import MqttPublisher, probe
from tests.conftest import BrokerFactory
from tests.support.broker import Broker, TlsFiles, free_port, signed_cert
from tests.support.mqtt import broker_settings, subscriber

STATE = "1/state"


@pytest.fixture
def stopped() -> Iterator[list[MqttPublisher]]:
    """Publishers to stop after the test, whatever happened."""
    publishers: list[MqttPublisher] = []
    yield publishers
    for publisher in publishers:
        publisher.stop(timeout=1)


def roundtrip(broker: Broker, stopped: list[MqttPublisher], **fields: Any) -> None:
    """Connect a publisher with `fields`, publish a state and read it back."""
    publisher = MqttPublisher(broker_settings(broker, **fields))
    stopped.append(publisher)
    publisher.start()
    publisher.wait_connected(10)
    base = publisher.status_topic.removesuffix("/status")
    publisher.publish(Message(f"{base}/{STATE}", b'{"today": 4.5}', retain=True))
    with subscriber(broker, (f"{base}/#",)) as sub:
        assert sub.wait_topic(f"{base}/{STATE}").json() == {"today": 4.5}
        assert sub.wait_topic(f"{base}/status").payload == b"online"


def refused(broker: Broker, stopped: list[MqttPublisher], **fields: Any) -> str:
    """Connect with `fields`, expect a permanent refusal, return its message."""
    publisher = MqttPublisher(broker_settings(broker, **fields))
    stopped.append(publisher)
    publisher.start()
    with pytest.raises(MqttAuthError) as caught:
        publisher.wait_connected(10)
    return str(caught.value)


def tls(files: TlsFiles, **fields: Any) -> dict[str, Any]:
    return {"mqtt_tls": True, "mqtt_ca_file": files.ca_cert, **fields}


def test_a_password_broker_works(
    mosquitto_auth: Broker, stopped: list[MqttPublisher]
) -> None:
    """With MQTT_USERNAME and MQTT_PASSWORD the publisher's messages get through."""
    roundtrip(
        mosquitto_auth,
        stopped,
        mqtt_username="bridge",
        mqtt_password="broker-secret",
    )


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_wrong_password_is_a_permanent_error_naming_the_variables(
    mosquitto_auth: Broker,
    stopped: list[MqttPublisher],
    caplog: pytest.LogCaptureFixture,
    protocol: str,
) -> None:
    """A refused login raises MqttAuthError naming the variables, never the password."""
    caplog.set_level(logging.DEBUG)
    message = refused(
        mosquitto_auth,
        stopped,
        mqtt_username="bridge",
        mqtt_password="wrong-secret",
        mqtt_protocol=protocol,
    )
    assert "refused" in message
    assert "check MQTT_USERNAME and MQTT_PASSWORD" in message
    assert "wrong-secret" not in message + caplog.text


def test_an_anonymous_client_is_refused_by_a_password_broker(
    mosquitto_auth: Broker, stopped: list[MqttPublisher]
) -> None:
    """Without credentials the password broker's refusal is permanent too."""
    assert "MQTT_USERNAME" in refused(mosquitto_auth, stopped)


def test_a_tls_broker_with_ca_and_client_certificate_works(
    mosquitto_tls: Broker, tls_files: TlsFiles, stopped: list[MqttPublisher]
) -> None:
    """MQTT_TLS with the CA, a client certificate and its key gets through."""
    roundtrip(
        mosquitto_tls,
        stopped,
        **tls(
            tls_files,
            mqtt_cert_file=tls_files.client_cert,
            mqtt_key_file=tls_files.client_key,
        ),
    )


@pytest.mark.parametrize(
    "case", ["no client certificate", "wrong CA"], ids=["no-cert", "wrong-ca"]
)
def test_certificate_problems_are_permanent(
    mosquitto_tls: Broker, tls_files: TlsFiles, stopped: list[MqttPublisher], case: str
) -> None:
    """A broker that rejects us, or that our CA does not vouch for, will never work."""
    fields = tls(tls_files)
    if case == "wrong CA":  # a certificate the broker's was not signed with
        fields |= {
            "mqtt_ca_file": tls_files.client_cert,
            "mqtt_cert_file": tls_files.client_cert,
            "mqtt_key_file": tls_files.client_key,
        }
    message = refused(mosquitto_tls, stopped, **fields)
    assert "check MQTT_CA_FILE, MQTT_CERT_FILE, MQTT_KEY_FILE" in message


def test_mqtt_5_works(mosquitto: Broker, stopped: list[MqttPublisher]) -> None:
    """With MQTT_PROTOCOL=5 the publisher's messages get through."""
    roundtrip(mosquitto, stopped, mqtt_protocol="5", mqtt_base_topic="v5/flume")


def test_an_unreachable_broker_is_a_transient_error(
    stopped: list[MqttPublisher],
) -> None:
    """Nobody listening: MqttError (not MqttAuthError), and publishing still works."""
    settings = broker_settings(
        Broker(directory=None, port=free_port())  # type: ignore[arg-type]  # never started
    )
    publisher = MqttPublisher(settings)
    stopped.append(publisher)
    publisher.start()
    with pytest.raises(MqttError) as caught:
        publisher.wait_connected(0.5)
    assert not isinstance(caught.value, MqttAuthError)
    publisher.publish(Message(f"flume/{STATE}", b"{}", retain=True))
    assert publisher.pump() == []


def test_probe_describes_the_connection_without_secrets(
    mosquitto_auth: Broker,
) -> None:
    """probe() connects as check does and says how, naming the user only."""
    settings = broker_settings(
        mosquitto_auth, mqtt_username="bridge", mqtt_password="broker-secret"
    )
    described = probe(settings)
    assert described == (
        f"127.0.0.1:{mosquitto_auth.port} (no TLS, user bridge, MQTT 3.1.1)"
    )


def test_probe_of_a_tls_broker_names_the_certificate(
    mosquitto_tls: Broker, tls_files: TlsFiles
) -> None:
    """The probe of a TLS broker with a client certificate says so."""
    settings = broker_settings(
        mosquitto_tls,
        mqtt_protocol="5",
        **tls(
            tls_files,
            mqtt_cert_file=tls_files.client_cert,
            mqtt_key_file=tls_files.client_key,
        ),
    )
    assert probe(settings).endswith("(TLS, client certificate, anonymous, MQTT 5)")


def test_probe_of_a_closed_port_fails_at_once(mosquitto: Broker) -> None:
    """probe() gives up on the first refused connection rather than retrying."""
    settings = broker_settings(mosquitto, mqtt_port=free_port())
    with pytest.raises(MqttError, match="Connection refused"):
        probe(settings, timeout=10)


def test_a_refusal_after_a_reconnect_is_raised_by_pump(
    broker_factory: BrokerFactory, stopped: list[MqttPublisher]
) -> None:
    """A password changed on the broker while running is permanent: pump() raises."""
    broker = broker_factory(username="bridge", password="old-secret")
    roundtrip(broker, stopped, mqtt_username="bridge", mqtt_password="old-secret")
    broker.stop()
    (broker.directory / "passwords").unlink()
    broker.password = "new-secret"
    broker.start()
    with pytest.raises(MqttAuthError, match="check MQTT_USERNAME and MQTT_PASSWORD"):
        pump_for(stopped[0], 10)


def pump_for(publisher: MqttPublisher, seconds: float) -> None:
    """Run the main loop's pumping for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        publisher.pump(timeout=0.1)


def test_an_unreadable_client_certificate_is_a_config_error(
    mosquitto_tls: Broker, tls_files: TlsFiles
) -> None:
    """A certificate file that is not a certificate fails at once, naming the files."""
    settings = broker_settings(
        mosquitto_tls,
        **tls(
            tls_files,
            mqtt_cert_file=tls_files.ca_cert,
            mqtt_key_file=tls_files.client_key,
        ),
    )
    with pytest.raises(ConfigError, match="MQTT_CERT_FILE"):
        MqttPublisher(settings)


@pytest.fixture(scope="module")
def misnamed_tls(tls_files: TlsFiles) -> TlsFiles:
    """The test CA's files, with a server certificate for another host name."""
    directory = tls_files.ca_cert.parent
    signed_cert(
        directory,
        "misnamed",
        "/CN=broker.invalid",
        "subjectAltName=DNS:broker.invalid\nextendedKeyUsage=serverAuth\n",
    )
    return dataclasses.replace(
        tls_files,
        server_cert=directory / "misnamed.crt",
        server_key=directory / "misnamed.key",
    )


@pytest.mark.parametrize("insecure", [False, True])
def test_tls_insecure_skips_only_the_host_name_check(
    broker_factory: BrokerFactory,
    misnamed_tls: TlsFiles,
    stopped: list[MqttPublisher],
    insecure: bool,
) -> None:
    """A certificate for another name is refused, unless MQTT_TLS_INSECURE is set."""
    broker = broker_factory(tls=misnamed_tls)
    fields = tls(
        misnamed_tls,
        mqtt_cert_file=misnamed_tls.client_cert,
        mqtt_key_file=misnamed_tls.client_key,
        mqtt_tls_insecure=insecure,
    )
    if insecure:
        roundtrip(broker, stopped, **fields)
    else:
        assert "IP address mismatch" in refused(broker, stopped, **fields)

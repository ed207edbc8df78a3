"""The broker fixtures start real mosquitto variants that real clients can use."""

from __future__ import annotations

import socket
import ssl
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from tests.conftest import BrokerFactory
from tests.support.broker import Broker, TlsFiles


def _client(broker: Broker, **auth: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fixture-test")
    if auth:
        client.username_pw_set(auth["username"], auth["password"])
    return client


def _connect(client: mqtt.Client, broker: Broker) -> ReasonCode:
    """Connect and return the CONNACK reason code."""
    answered = threading.Event()
    result: list[ReasonCode] = []

    def on_connect(
        _c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: object
    ) -> None:
        result.append(rc)
        answered.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert answered.wait(5), "no CONNACK"
    finally:
        client.loop_stop()
    return result[0]


def _roundtrip(client: mqtt.Client, broker: Broker) -> bytes:
    """Publish a retained message, then read it back on a second subscription."""
    received = threading.Event()
    payloads: list[bytes] = []

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        payloads.append(bytes(message.payload))
        received.set()

    client.on_message = on_message
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish(
            "fixture/retained", b"hello", qos=1, retain=True
        ).wait_for_publish(5)
        client.subscribe("fixture/retained", qos=1)
        assert received.wait(5), "retained message not delivered"
    finally:
        client.disconnect()
        client.loop_stop()
    return payloads[0]


def test_anonymous_broker_delivers_retained_messages(mosquitto: Broker) -> None:
    """An anonymous client can publish a retained message and receive it back."""
    assert _roundtrip(_client(mosquitto), mosquitto) == b"hello"


def test_password_broker_accepts_the_right_password(mosquitto_auth: Broker) -> None:
    """The password broker serves a client with the configured credentials."""
    client = _client(mosquitto_auth, username="bridge", password="broker-secret")
    assert _roundtrip(client, mosquitto_auth) == b"hello"


def test_password_broker_refuses_a_wrong_password(mosquitto_auth: Broker) -> None:
    """A wrong password is refused in the CONNACK, not silently accepted."""
    client = _client(mosquitto_auth, username="bridge", password="wrong")
    assert _connect(client, mosquitto_auth).is_failure


def test_password_broker_refuses_anonymous_clients(mosquitto_auth: Broker) -> None:
    """Without credentials the password broker refuses the connection."""
    assert _connect(_client(mosquitto_auth), mosquitto_auth).is_failure


def test_tls_broker_accepts_a_client_certificate(
    mosquitto_tls: Broker, tls_files: TlsFiles
) -> None:
    """A client with the CA and a signed certificate gets through TLS."""
    client = _client(mosquitto_tls)
    client.tls_set(
        ca_certs=str(tls_files.ca_cert),
        certfile=str(tls_files.client_cert),
        keyfile=str(tls_files.client_key),
    )
    assert _roundtrip(client, mosquitto_tls) == b"hello"


def test_tls_broker_requires_a_client_certificate(
    mosquitto_tls: Broker, tls_files: TlsFiles
) -> None:
    """Without a client certificate the broker never answers CONNECT with CONNACK."""
    context = ssl.create_default_context(cafile=str(tls_files.ca_cert))
    connect = b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00"  # MQTT 3.1.1, empty id
    with socket.create_connection((mosquitto_tls.host, mosquitto_tls.port), 5) as raw:
        try:
            with context.wrap_socket(raw, server_hostname=mosquitto_tls.host) as tls:
                tls.sendall(connect)
                answer = tls.recv(4)
        except (ssl.SSLError, ConnectionError):
            answer = b""
    assert not answer.startswith(b"\x20")  # 0x20 would be a CONNACK


def test_restarted_broker_comes_back_on_the_same_port(
    broker_factory: BrokerFactory,
) -> None:
    """A restart stops the broker and brings it back where clients expect it."""
    broker = broker_factory()
    port = broker.port
    broker.restart()
    assert broker.running
    assert broker.port == port
    with socket.create_connection((broker.host, broker.port), timeout=2):
        pass


def test_tests_cannot_reach_other_hosts() -> None:
    """The loopback guard refuses a connection to any non-loopback address."""
    with (
        socket.socket() as sock,
        pytest.raises(ConnectionRefusedError, match="loopback"),
    ):
        sock.connect(("192.0.2.1", 1883))  # TEST-NET-1: never routed

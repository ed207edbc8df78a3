"""Which broker failures are permanent, and how check describes a connection (pure)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import SecretStr

from bridge.config import Settings
from bridge.mqtt import describe
from bridge.mqtt.client import (
    CERTIFICATES,
    CREDENTIALS,
    certificate_check,
    describe_error,
    refusal_check,
)


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("Bad user name or password", CREDENTIALS),
        ("Not authorized", CREDENTIALS),
        ("Bad authentication method", CREDENTIALS),
        ("Server unavailable", None),  # the broker is starting or overloaded
        ("Server busy", None),
        ("Unspecified error", None),
    ],
)
def test_only_refused_logins_are_permanent(name: str, check: str | None) -> None:
    """A CONNACK that refuses the login names the variables; the rest are transient."""
    assert refusal_check(ReasonCode(PacketTypes.CONNACK, name)) == check


@pytest.mark.parametrize(
    ("error", "text", "check"),
    [
        (
            ssl.SSLCertVerificationError(1, "certificate verify failed"),
            "",
            CERTIFICATES,
        ),
        (None, "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] alert", CERTIFICATES),
        (None, "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca", CERTIFICATES),
        (ConnectionRefusedError(111, "Connection refused"), "refused", None),
        (TimeoutError("timed out"), "timed out", None),
        (None, "connection closed (Unspecified error)", None),
    ],
    ids=["verify", "cert-required", "unknown-ca", "refused", "timeout", "closed"],
)
def test_only_certificate_failures_of_tls_are_permanent(
    error: BaseException | None, text: str, check: str | None
) -> None:
    """Rejected certificates (ours or the broker's) name the TLS variables."""
    assert certificate_check(error, text) == check


def test_failures_are_described_briefly() -> None:
    """A verification failure reads as its OpenSSL message, other errors as text."""
    verify = ssl.SSLCertVerificationError(1, "x")
    verify.verify_message = "self-signed certificate in certificate chain"
    assert describe_error(verify) == "TLS: self-signed certificate in certificate chain"
    assert describe_error(OSError(111, "Connection refused")) == (
        "[Errno 111] Connection refused"
    )
    assert describe_error(None) == "connection failed"


def test_describe_names_tls_user_and_protocol_but_never_the_password(
    tmp_path: Path,
) -> None:
    """The check line says how the bridge connects; the password stays hidden."""
    pem = tmp_path / "ca.pem"
    pem.write_text("x")
    plain = Settings(
        mqtt_host="broker.lan", mqtt_username="flume", mqtt_password=SecretStr("pw")
    )
    assert describe(plain) == "broker.lan:1883 (no TLS, user flume, MQTT 3.1.1)"
    tls = Settings(
        mqtt_host="broker.lan",
        mqtt_tls=True,
        mqtt_ca_file=pem,
        mqtt_tls_insecure=True,
        mqtt_protocol="5",
    )
    assert describe(tls) == (
        "broker.lan:8883 (TLS, host name not checked, anonymous, MQTT 5)"
    )

"""Paho clients built from Settings, and which connection failures are permanent."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from bridge.config import Settings
from bridge.errors import ConfigError

PROTOCOLS: Final = {
    "3.1.1": MQTTProtocolVersion.MQTTv311,
    "5": MQTTProtocolVersion.MQTTv5,
}
KEEPALIVE: Final = 60
# CONNACK reasons that no retry can fix: the operator has to change the credentials.
REFUSALS: Final = frozenset(
    {"Bad user name or password", "Not authorized", "Bad authentication method"}
)
CREDENTIALS: Final = "MQTT_USERNAME and MQTT_PASSWORD"
CERTIFICATES: Final = (
    "MQTT_CA_FILE, MQTT_CERT_FILE, MQTT_KEY_FILE and MQTT_TLS_INSECURE"
)
# OpenSSL reasons for a certificate that we or the broker rejected: a wrong CA, client
# certificate or key is a configuration mistake, not an outage.
CERTIFICATE_REASONS: Final = ("CERTIFICATE", "UNKNOWN_CA")


@dataclass(frozen=True, slots=True)
class Will:
    """The Last Will the broker publishes for us when we vanish."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


def build_client(settings: Settings, client_id: str, will: Will | None) -> mqtt.Client:
    """A paho client with the protocol, credentials, TLS and Last Will of `settings`.

    Raises:
        ConfigError: a certificate or key file cannot be loaded.
    """
    v5 = settings.mqtt_protocol == "5"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=PROTOCOLS[settings.mqtt_protocol],
        clean_session=None if v5 else True,  # MQTT 5 takes clean_start on connect
    )
    if settings.mqtt_username is not None:
        password = settings.mqtt_password
        client.username_pw_set(
            settings.mqtt_username, password.get_secret_value() if password else None
        )
    if settings.mqtt_tls:
        _tls(client, settings)
    if will is not None:
        client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
    return client


def _tls(client: mqtt.Client, settings: Settings) -> None:
    """Verify the broker against MQTT_CA_FILE (else the system CAs).

    MQTT_TLS_INSECURE skips only the host-name check, as mosquitto_pub's `--insecure`
    does: the certificate must still chain to a trusted CA.
    """
    try:
        context = ssl.create_default_context(cafile=_path(settings.mqtt_ca_file))
        if settings.mqtt_cert_file is not None:
            context.load_cert_chain(
                settings.mqtt_cert_file, _path(settings.mqtt_key_file)
            )
    except (ssl.SSLError, OSError) as error:
        raise ConfigError(
            f"MQTT_CA_FILE, MQTT_CERT_FILE, MQTT_KEY_FILE: cannot load: {error}"
        ) from None
    context.sslsocket_class = _ClosingSSLSocket
    client.tls_set_context(context)
    client.tls_insecure_set(settings.mqtt_tls_insecure)


class _ClosingSSLSocket(ssl.SSLSocket):
    """Closes itself when the handshake fails.

    Paho drops such a socket without closing it, which leaves the file descriptor to
    the garbage collector (and a ResourceWarning) on every failed attempt.
    """

    def do_handshake(self, block: bool = False) -> None:  # ssl.SSLSocket's signature
        try:
            super().do_handshake(block)
        except OSError:
            self.close()
            raise


def _path(value: object) -> str | None:
    return None if value is None else str(value)


def describe_error(error: BaseException | None) -> str:
    """A short cause for the log and the error message."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS: {error.reason or error}"
    return str(error) if error is not None else "connection failed"


def certificate_check(error: BaseException | None, reason: str) -> str | None:
    """The variables to fix when a TLS failure was about a certificate, else None.

    `reason` is the failure's text: paho hands over only that when the broker rejects
    our certificate after the handshake.
    """
    if isinstance(error, ssl.SSLCertVerificationError | ssl.CertificateError) or any(
        part in reason.upper() for part in CERTIFICATE_REASONS
    ):
        return CERTIFICATES
    return None


def refusal_check(code: ReasonCode) -> str | None:
    """The variables to fix when a CONNACK refused the login, else None."""
    return CREDENTIALS if code.getName() in REFUSALS else None

"""The exception tree: every failure is transient (retry on schedule) or permanent.

BridgeError                       base; never raised directly
├── ConfigError                   settings missing or invalid              → permanent
├── FlumeError                    anything from the Flume side (.status: int | None)
│   ├── FlumeAuthError            password grant or client rejected         → permanent
│   ├── FlumeUnavailableError     timeout, connection, 5xx, no budget       → transient
│   │   └── FlumeRateLimitError   429 from Flume (.retry_after: float | None)
│   └── FlumeProtocolError        bad JSON, success=false, malformed shape  → transient
└── MqttError                     broker unreachable, publish timed out     → transient
    └── MqttAuthError             broker refused the credentials            → permanent*

Permanent errors end the process with exit code 78 (the unit's
RestartPreventExitStatus); transient ones are logged once and retried on the schedule.
*Except in `run`: an auth backend may come up after its broker, so the service logs a
refusal once per streak and keeps asking; `check` and `discovery --purge` exit 78.
Messages never carry a secret, a token or a request body of /oauth/token.
"""

from __future__ import annotations

from typing import ClassVar


class BridgeError(Exception):
    """Base of every error the bridge raises on purpose."""

    permanent: ClassVar[bool] = False


class ConfigError(BridgeError):
    """The configuration is missing or invalid; the message names the variable."""

    permanent = True


class FlumeError(BridgeError):
    """A failure talking to the Flume API."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class FlumeAuthError(FlumeError):
    """Flume rejected the client or the user's credentials."""

    permanent = True


class FlumeUnavailableError(FlumeError):
    """Flume could not be reached or answered with a server error; try later."""


class FlumeRateLimitError(FlumeUnavailableError):
    """Flume (or our own budget) refuses requests for now."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class FlumeProtocolError(FlumeError):
    """Flume answered, but not with anything we can use."""


class MqttError(BridgeError):
    """A failure talking to the MQTT broker."""


class MqttAuthError(MqttError):
    """The broker refused our credentials or certificate."""

    permanent = True

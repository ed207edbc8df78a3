"""Notifier: sd_notify over $NOTIFY_SOCKET (readiness, watchdog, status, stopping)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)

# A wedged service manager must not wedge the service: a datagram that cannot be
# queued within this long is dropped and logged like any other failed send.
SEND_TIMEOUT = 1.0
# systemd splits a message into assignments at newlines, so a status text carrying one
# could smuggle in READY=1 or MAINPID=; a NUL makes it drop the whole message.
_ONE_LINE = str.maketrans({"\n": " ", "\r": " ", "\0": " "})


class Notifier:
    """Tells systemd how the service is doing; every call is a no-op outside a unit.

    The environment is read once, at construction: `NOTIFY_SOCKET` (a path, or an
    abstract name written `@name`), `WATCHDOG_USEC` and `WATCHDOG_PID`. Each message
    goes out on a fresh datagram socket, as sd_notify(3) does, so a manager that
    re-creates its socket is found again. A failed send never raises: the first of a
    streak is logged at WARNING, the rest at DEBUG, and the next success at INFO.
    """

    def __init__(
        self, environ: Mapping[str, str] = os.environ, *, timeout: float = SEND_TIMEOUT
    ) -> None:
        self._socket = environ.get("NOTIFY_SOCKET", "")
        self._address = _address(self._socket)
        self._interval = _watchdog_interval(environ) if self._address else None
        self._timeout = timeout
        self._failures = 0  # failed sends since the last delivered one

    def watchdog_interval(self) -> float | None:
        """Seconds between watchdog pings (half the timeout); None when not watched."""
        return self._interval

    def ready(self) -> None:
        """Startup is complete: systemd finishes `start` for a Type=notify unit."""
        self._send("READY=1")

    def watchdog(self) -> None:
        """Ping the watchdog; only when it is enabled and watches this process."""
        if self._interval is not None:
            self._send("WATCHDOG=1")

    def status(self, text: str) -> None:
        """Show `text` as the unit's status line in `systemctl status`."""
        self._send("STATUS=" + text.translate(_ONE_LINE))

    def stopping(self) -> None:
        """The service is shutting down on purpose."""
        self._send("STOPPING=1")

    def _send(self, message: str) -> None:
        if self._address is None:
            return
        # "replace": a stray surrogate in a status text must not cost the message.
        data = message.encode("utf-8", "replace")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.settimeout(self._timeout)
                sock.sendto(data, self._address)
        except OSError as exc:
            self._failed(message.partition("=")[0], exc)
        else:
            self._delivered()

    def _failed(self, name: str, exc: OSError) -> None:
        self._failures += 1
        # Notification is a courtesy: the service carries on, so a streak of failures
        # (the manager restarting, say) is news once and detail afterwards.
        level = logging.WARNING if self._failures == 1 else logging.DEBUG
        log.log(level, "systemd %s not sent to %s: %s", name, self._socket, exc)

    def _delivered(self) -> None:
        if self._failures:
            log.info(
                "systemd notifications delivered again after %d failed",
                self._failures,
            )
            self._failures = 0


def _address(value: str) -> bytes | None:
    """The socket address for `sendto`, or None when there is nobody to notify."""
    if not value:
        return None
    if value.startswith("@"):
        # systemd writes the leading NUL of an abstract-namespace name as "@".
        return b"\0" + os.fsencode(value[1:])
    if value.startswith("/"):
        return os.fsencode(value)
    # sd_notify(3) refuses relative paths too; vsock: addresses are for VMs only.
    log.warning("ignoring NOTIFY_SOCKET=%r: not a unix socket path or @name", value)
    return None


def _watchdog_interval(environ: Mapping[str, str]) -> float | None:
    """Half of WATCHDOG_USEC in seconds, as sd_watchdog_enabled(3) recommends."""
    pid = environ.get("WATCHDOG_PID")
    # Set when the watchdog belongs to one process: a child that inherited the
    # environment must not keep a wedged parent alive. Unparsable means not us.
    if pid is not None and pid != str(os.getpid()):
        return None
    usec = environ.get("WATCHDOG_USEC")
    if usec is None:
        return None
    try:
        value = int(usec)
    except ValueError:
        value = 0
    if value <= 0:
        log.warning("ignoring WATCHDOG_USEC=%r: not a positive integer", usec)
        return None
    return value / 2_000_000

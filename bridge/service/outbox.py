"""The outbox: the service's messages, each retained one sent when it changes."""

from __future__ import annotations

from collections.abc import Callable

from bridge.models import Message


class Outbox:
    """Sends the service's messages; a retained payload already sent is skipped.

    The broker keeps what was sent last; `again` re-sends it anyway (a switch may
    show what was asked rather than what is).
    """

    def __init__(self, send: Callable[[Message], None]) -> None:
        self._send = send
        self._sent: dict[str, bytes] = {}  # retained topic -> the payload sent last

    def publish(self, message: Message, *, again: bool = False) -> None:
        """Send `message` unless it is retained and its topic holds it already."""
        if message.retain:
            if not again and self._sent.get(message.topic) == message.payload:
                return
            self._sent[message.topic] = message.payload
        self._send(message)

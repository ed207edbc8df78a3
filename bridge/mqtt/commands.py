"""The commands the bridge takes over MQTT: HA's buttons and the away-mode switches."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Final

from bridge.contract.topics import Topics
from bridge.mqtt.connection import Received

log = logging.getLogger(__name__)

# HA buttons send a short word; anything longer or not text is not a press.
MAX_COMMAND_BYTES: Final = 256


class Command(enum.Enum):
    """What a message on `<base>/command/<name>` asks the service to do."""

    REFRESH = "refresh"  # poll every device now, within budget
    REPUBLISH = "republish"  # re-send discovery and states


COMMANDS: Final = {command.value: command for command in Command}
AWAY_PAYLOADS: Final = {b"ON": True, b"OFF": False}  # HA's switch payloads


@dataclass(frozen=True, slots=True)
class SetAway:
    """`<base>/<location_id>/away_mode/set`: turn a location's away mode on or off."""

    location_id: int
    away: bool


class Inbox:
    """The commands received and not yet taken.

    A button pressed twice before the service takes it is one press; of a
    location's away-mode asks, the newest wins.
    """

    def __init__(self, topics: Topics) -> None:
        self._topics = topics
        self._prefix = topics.commands
        self._commands: list[Command] = []
        self._asked_away: dict[int, bool] = {}  # location id -> away mode asked, newest

    def filters(self) -> list[str]:
        """The topic filters the commands arrive on."""
        return [f"{self._prefix}+", self._topics.away_mode_set("+")]

    @property
    def waiting(self) -> bool:
        """Whether a command or an away-mode ask waits to be taken."""
        return bool(self._commands or self._asked_away)

    def add(self, event: Received) -> None:
        """Keep a command or an away-mode ask; drop (at DEBUG) what is neither."""
        if event.topic.startswith(self._prefix):
            self._command(event)
        else:
            self._away(event)

    def commands(self) -> list[Command]:
        """The commands received since the last call, oldest first."""
        commands, self._commands = self._commands, []
        return commands

    def away_requests(self) -> list[SetAway]:
        """The away-mode commands received since the last call, one per location."""
        asked, self._asked_away = self._asked_away, {}
        return [SetAway(location_id, away) for location_id, away in asked.items()]

    def _command(self, event: Received) -> None:
        name = event.topic.removeprefix(self._prefix)
        command = COMMANDS.get(name)
        if command is None:
            log.debug("ignored unknown command topic %s", event.topic)
        elif event.retained:
            # A retained command would fire again on every reconnect.
            log.debug("ignored retained command on %s", event.topic)
        elif not _is_text(event.payload):
            log.debug(
                "ignored malformed %s payload (%d bytes)", name, len(event.payload)
            )
        elif command not in self._commands:
            log.debug("command %s received", name)
            self._commands.append(command)

    def _away(self, event: Received) -> None:
        """An away-mode command: the newest per location wins, ON/OFF only."""
        location_id = self._topics.away_location_of(event.topic)
        away = AWAY_PAYLOADS.get(event.payload.strip())
        if location_id is None or event.retained or away is None:
            ignored(event)
            return
        log.debug("away mode %s asked for location %s", away, location_id)
        self._asked_away.pop(location_id, None)  # the newest ask goes last
        self._asked_away[location_id] = away


def ignored(event: Received) -> None:
    """Say at DEBUG that a message was dropped, with the start of its payload."""
    log.debug(
        "ignored %r on %s (retained: %s)",
        event.payload[:32],
        event.topic,
        event.retained,
    )


def _is_text(payload: bytes) -> bool:
    if len(payload) > MAX_COMMAND_BYTES:
        return False
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True

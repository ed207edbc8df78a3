"""Away mode: each served location's switch as Flume last said it, and its command."""

from __future__ import annotations

import logging
from datetime import datetime

from bridge.errors import BridgeError
from bridge.models import Location
from bridge.service.board import Board
from bridge.service.outbox import Outbox
from bridge.service.parts import Parts

log = logging.getLogger(__name__)


class AwayModes:
    """The served locations' away modes: their switches, the command, their changes.

    The rules judge minutes a few minutes old: each counts with the away mode it
    had, as far as the bridge knows (a change in Flume's app shows at the next
    device list), so each change is stamped with Flume's time.
    """

    def __init__(self, parts: Parts, board: Board, outbox: Outbox) -> None:
        self._client = parts.client
        self._budget = parts.budget
        self._payloads = parts.contract.payloads
        self._now = parts.now
        self._board = board
        self._outbox = outbox
        # Location id -> when (Flume's clock) its away mode was seen to change.
        self._since: dict[int, datetime] = {}

    def since(self, location: Location | None) -> datetime | None:
        """When the location's away mode was seen to change; None if not seen."""
        return self._since.get(location.id) if location else None

    def note(self, before: dict[int, Location]) -> None:
        """Stamp the locations whose away mode changed from what `before` said."""
        for location_id, location in self._board.locations().items():
            old = before.get(location_id)
            if old is None or old.away_mode is None:
                continue  # not known before: no change to place in time
            if old.away_mode != location.away_mode:
                self._since[location_id] = self._now()

    def clear(self, before: dict[int, Location]) -> None:
        """Empty the retained switch of each location no sensor served is at now."""
        for location_id in set(before) - set(self._board.locations()):
            self._outbox.publish(self._payloads.away_mode(location_id, None))

    def set(self, location_id: int, away: bool) -> None:
        """Set a location's away mode (one PATCH), and read it back if there is room.

        The switch shows Flume's real state: a refusal or a failure re-sends the
        state last read; a change not read back at once shows at the next device
        list.

        Raises:
            FlumeError: the PATCH (or the read after it) failed or had no room.
        """
        if location_id not in self._board.locations():
            log.info("away mode: no sensor served at location %s", location_id)
            return
        try:
            self._client.set_away(location_id, away)
        except BridgeError as error:
            # Said even inside a streak of failures, when the job's WARNING is DEBUG.
            log.info("away mode of location %s not set: %s", location_id, error)
            self.publish(again=location_id)
            raise
        word = "on" if away else "off"
        if self._budget.available_in() > 0:
            log.info(
                "away mode of location %s set %s; read at the next list",
                location_id,
                word,
            )
            return
        before = self._board.locations()
        self._board.set_location(self._client.location(location_id))
        self.note(before)
        log.info("away mode of location %s set %s", location_id, word)
        self.publish()

    def publish(self, again: int | None = None) -> None:
        """Publish each served location's away mode as Flume last said it.

        `again`: a location whose state is re-sent even if unchanged (a command on
        it failed, and a switch may show what was asked rather than what is).
        """
        for location in self._board.locations().values():
            if location.away_mode is None:
                continue  # never read: no made-up OFF
            message = self._payloads.away_mode(location.id, location.away_mode)
            self._outbox.publish(message, again=location.id == again)

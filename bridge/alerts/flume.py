"""AlertBook: which notifications and usage alerts are new, as events, exactly once."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from bridge.models import Event, Notification, UsageAlert
from bridge.statefile import (
    read_document,
    read_instant,
    remove_leftovers,
    temp_prefix,
    write_atomic,
)

log = logging.getLogger(__name__)

ALERTS_FILE = "alerts.json"
FORMAT = 1
HIGH_FLOW_HOLD = timedelta(hours=1)
# Ask Flume again for the hour before the newest item: one that shows up late is not
# missed, and the ids remembered below keep it from repeating.
LOOKBACK = timedelta(hours=1)
# Ids are remembered for a day before the newest item, and at most this many; anything
# older than what is remembered counts as history.
RETAIN = timedelta(days=1)
MAX_SEEN = 4096

# Event types of Flume's rule names (flume-api.md §3.5) and notification type bits.
RULE_TYPES = {
    "Flume Smart Leak Alert": "leak",
    "Flume Smart Leak Rule": "leak",
    "Low Flow Leak": "leak",
    "High Flow Alert": "high_flow",
    "Low Battery": "low_battery",
    "Bridge Disconnection": "bridge_disconnected",
}
NOTIFICATION_TYPES = {16: "low_battery", 8: "bridge_disconnected", 2: "budget"}
OTHER = "alert"


def alert_type(alert: UsageAlert) -> str:
    """The event type of a usage alert: Flume's leak flag, else its rule."""
    if alert.leak:
        return "leak"
    return RULE_TYPES.get(alert.rule or "", OTHER)


def notification_type(notification: Notification) -> str:
    """The event type of a notification: its rule, else its type bit."""
    by_rule = RULE_TYPES.get(notification.rule or "")
    found = by_rule or NOTIFICATION_TYPES.get(notification.type or 0, OTHER)
    if found == "bridge_disconnected" and notification.connected:
        # The heartbeat rule reports reconnections too; `extra.connected` tells.
        return "bridge_connected"
    return found


@dataclass(frozen=True, slots=True)
class _Item:
    """A notification or a usage alert, with the keys that identify its event."""

    id_key: str
    device_id: str | None
    event: Event
    rank: int  # within a minute a notification comes first: its text is richer

    @property
    def minute(self) -> datetime:
        """The minute the item happened in."""
        return self.event.at.replace(second=0, microsecond=0)

    @property
    def minute_key(self) -> str:
        """A usage alert and its notification share device, type and minute, not ids."""
        return f"{self.device_id or ''}|{self.event.type}|{self.minute.isoformat()}"


def _items(
    notifications: Iterable[Notification], alerts: Iterable[UsageAlert]
) -> list[_Item]:
    """Everything Flume listed, oldest first."""
    items = [_of_notification(n) for n in notifications]
    items += [_of_alert(a) for a in alerts]
    return sorted(items, key=lambda i: (i.minute, i.rank, i.event.at, i.id_key))


def _of_notification(note: Notification) -> _Item:
    event = Event(notification_type(note), note.title, note.message, note.created_at)
    return _Item(f"notification:{note.id}", note.device_id, event, 0)


def _of_alert(alert: UsageAlert) -> _Item:
    event = Event(alert_type(alert), alert.rule, None, alert.triggered_at)
    return _Item(f"usage_alert:{alert.id}", alert.device_id, event, 1)


@dataclass(slots=True)
class _Memory:
    """What alerts.json holds: the watermark, the history horizon and the seen keys."""

    watermark: datetime  # the newest item seen (never past our now)
    horizon: datetime  # items at or before it are history
    seen: dict[str, datetime] = field(default_factory=dict)  # key -> item time

    def is_new(self, item: _Item) -> bool:
        """Whether neither of the item's keys was seen and it is not history."""
        keys = (item.id_key, item.minute_key)
        return item.event.at > self.horizon and not any(k in self.seen for k in keys)

    def remember(self, item: _Item) -> None:
        """Mark both keys of an item seen."""
        self.seen[item.id_key] = self.seen[item.minute_key] = item.event.at

    def prune(self) -> None:
        """Forget keys older than RETAIN before the watermark, and any past MAX_SEEN."""
        self.horizon = max(self.horizon, self.watermark - RETAIN)
        newest = sorted(self.seen.items(), key=lambda entry: entry[1], reverse=True)
        for key, at in newest[MAX_SEEN:]:
            self.horizon = max(self.horizon, at)
            del self.seen[key]
        self.seen = {k: at for k, at in self.seen.items() if at > self.horizon}

    def encode(self) -> bytes:
        """The JSON document of alerts.json."""
        document = {
            "format": FORMAT,
            "watermark": self.watermark.isoformat(),
            "horizon": self.horizon.isoformat(),
            "seen": {key: at.isoformat() for key, at in self.seen.items()},
        }
        return json.dumps(document, indent=1).encode()


def decode(raw: bytes) -> _Memory:
    """Read alerts.json; ValueError, KeyError or TypeError when it is not one."""
    document, seen = read_document(raw, FORMAT, "seen")
    watermark, horizon = (
        read_instant(document["watermark"]),
        read_instant(document["horizon"]),
    )
    return _Memory(watermark, horizon, {k: read_instant(at) for k, at in seen.items()})


class AlertBook:
    """Turns Flume's notifications and usage alerts into new events, once each."""

    def __init__(self, state_dir: Path, now: Callable[[], datetime]) -> None:
        self.path = state_dir / ALERTS_FILE
        self._now = now
        self._memory = self._load()
        self._high_flow: dict[str, datetime] = {}
        self._polled = False
        self._save_failed = False

    def since(self) -> datetime | None:
        """The time to ask Flume for items after; None: all (the first poll ever)."""
        if self._memory is None:
            return None
        return max(self._memory.watermark - LOOKBACK, self._memory.horizon)

    def high_flow(self, device_id: str) -> bool | None:
        """Whether a High Flow Alert fired in the last hour; None before any poll."""
        if not self._polled:
            return None
        triggered = self._high_flow.get(device_id)
        return triggered is not None and self._now() - triggered < HIGH_FLOW_HOLD

    def update(
        self, notifications: Sequence[Notification], alerts: Sequence[UsageAlert]
    ) -> list[tuple[str, Event]]:
        """Return (device_id, event) for each item not seen before, oldest first.

        The first update ever only takes note of what is there: history is no news.
        """
        items = _items(notifications, alerts)
        self._polled = True
        self._note_high_flow(items)
        if self._memory is None:
            self._memory = self._first(items)
            self._save(self._memory)
            return []
        memory = self._memory
        fresh = _fresh(memory, items)
        if self._advance(memory, items) or fresh:
            memory.prune()
            self._save(memory)
        return list(_events(fresh))

    def _first(self, items: list[_Item]) -> _Memory:
        now = self._now()
        memory = _Memory(now, now - RETAIN)
        self._advance(memory, items)
        for item in items:
            memory.remember(item)
        memory.prune()
        log.info("alerts: %d already on record, watching from now on", len(items))
        return memory

    def _advance(self, memory: _Memory, items: list[_Item]) -> bool:
        """Move the watermark to the newest item (not past now); whether it moved."""
        newest = max((item.event.at for item in items), default=memory.watermark)
        newest = min(newest, self._now())  # a date in Flume's future must not stall us
        moved = newest > memory.watermark
        memory.watermark = max(memory.watermark, newest)
        return moved

    def _note_high_flow(self, items: Iterable[_Item]) -> None:
        for item in items:
            if item.event.type == "high_flow" and item.device_id:
                known = self._high_flow.get(item.device_id, item.event.at)
                self._high_flow[item.device_id] = max(known, item.event.at)

    def _load(self) -> _Memory | None:
        remove_leftovers(self.path.parent, temp_prefix(self.path))
        try:
            return decode(self.path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning(
                "ignoring %s (%s): watching for alerts from now on", self.path, error
            )
            return None

    def _save(self, memory: _Memory) -> None:
        try:
            write_atomic(self.path, memory.encode())
        except OSError as error:
            # The events still go out; only a restart could repeat them.
            level = logging.DEBUG if self._save_failed else logging.WARNING
            log.log(level, "could not save %s: %s", self.path, error)
            self._save_failed = True
            return
        self._save_failed = False


def _fresh(memory: _Memory, items: Iterable[_Item]) -> list[_Item]:
    """The items not seen before, now remembered (in order, so a pair counts once)."""
    fresh = []
    for item in items:
        if memory.is_new(item):
            memory.remember(item)
            fresh.append(item)
    return fresh


def _events(items: Iterable[_Item]) -> Iterator[tuple[str, Event]]:
    for item in items:
        if item.device_id:
            yield item.device_id, item.event
        else:
            log.debug("skipping %s: no device", item.id_key)

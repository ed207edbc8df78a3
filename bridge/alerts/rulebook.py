"""RuleBook: every sensor's local rules and sessions, kept in STATE_DIR/rules.json.

Kept so that no event is told twice and a restart resumes each rule's value.

Each usage poll hands the book the spans of Flume's answer and the meter's horizon
(the newest minute end that counts). The book judges, in order, the minutes from where
it stopped up to the horizon; a minute not in the answer yet stops it until a later
poll (late data), and minutes only known as a longer bucket (a back-fill) are a gap.
The file is replaced atomically before the events are returned: an event published
afterwards is never one a restart would tell again. A poll that changes nothing but
`through` (dry minutes, no open session: most minutes of a home) leaves it alone for up
to SAVE_DRY minutes (an SD card wears with every write); a restart judges those
minutes again, as the same nothing, and `flush` saves them at a stop.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bridge.alerts.rules import MINUTE, Change, Outcome, Thresholds, Tracker
from bridge.alerts.rulesfile import Fields, decode, encode_fields, fields_of
from bridge.config import RULE_DEFAULTS, Settings
from bridge.models import Event, Session, UnitSystem
from bridge.statefile import read_instant, remove_leftovers, temp_prefix, write_atomic

log = logging.getLogger(__name__)

RULES_FILE = "rules.json"
TITLES = {
    "continuous_flow": "Continuous flow",
    "sustained_flow": "Sustained flow",
    "away_flow": "Water while away",
}
SESSION_TITLE = "Water-use session"
SAVE_DRY = timedelta(minutes=15)  # the most a `through` runs ahead of rules.json

Span = tuple[datetime, int, float]


class RuleBook:
    """The local rules of every sensor, persisted in STATE_DIR/rules.json."""

    def __init__(self, state_dir: Path, limits: Thresholds) -> None:
        self.path = state_dir / RULES_FILE
        self.limits = limits
        self._failing = False
        self._written: dict[str, Fields] = {}  # rules.json as last read or written
        self._trackers = self._load()

    def tracker(self, device_id: str) -> Tracker | None:
        """What the rules know of a sensor; None before its first judged minute."""
        return self._trackers.get(device_id)

    def update(
        self,
        device_id: str,
        spans: Iterable[Span],
        horizon: datetime,
        away: bool | None,
        since: datetime | None = None,
    ) -> list[Event]:
        """Judge the sensor's settled minutes up to `horizon`; the events, oldest first.

        `away` is the location's away mode since `since` (None: all along); minutes
        before `since` had the other value. The first update of a sensor judges the
        history in the answer without events: what happened before the bridge
        watched is no news (its values are).
        """
        spans = list(spans)
        tracker = self._trackers.get(device_id)
        first = tracker is None
        if tracker is None:
            tracker = Tracker(_earliest(spans, horizon))
        modes = _AwayMode(bool(away), since)
        outcomes = list(_judge(tracker, spans, horizon, modes, self.limits))
        self._trackers[device_id] = tracker
        self._save()
        return [] if first else [event_of(outcome) for outcome in outcomes]

    def _load(self) -> dict[str, Tracker]:
        remove_leftovers(self.path.parent, temp_prefix(self.path))
        try:
            raw = self.path.read_bytes()
            trackers = decode(raw)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as error:
            # Starting afresh judges the answer's history again without events:
            # nothing is told twice, the values come back with the first poll.
            log.warning(
                "ignoring %s (%s): the local rules start afresh", self.path, error
            )
            return {}
        self._written = fields_of(trackers)
        return trackers

    def flush(self) -> None:
        """Save what only moved `through` and is not saved yet (at a stop)."""
        devices = fields_of(self._trackers)
        if devices != self._written:
            self._write(devices)

    def _save(self) -> None:
        devices = fields_of(self._trackers)
        if devices == self._written or self._only_dry(devices):
            return
        self._write(devices)

    def _only_dry(self, devices: dict[str, Fields]) -> bool:
        """Whether the trackers moved only `through`, and not far, since the save."""
        if self._failing or devices.keys() != self._written.keys():
            return False
        for device_id, now in devices.items():
            saved = self._written[device_id]
            if {**now, "through": saved["through"]} != saved:
                return False
            moved = self._trackers[device_id].through - read_instant(saved["through"])
            if moved >= SAVE_DRY:
                return False
        return True

    def _write(self, devices: dict[str, Fields]) -> None:
        try:
            write_atomic(self.path, encode_fields(devices))
        except OSError as error:
            report = log.debug if self._failing else log.warning
            report(
                "could not save %s (%s): a restart may repeat events", self.path, error
            )
            self._failing = True
            return
        self._written = devices
        self._failing = False


def event_of(outcome: Outcome) -> Event:
    """The `flume/<id>/event` of a rule's change or of a session that ended."""
    if isinstance(outcome, Session):
        return Event("session", SESSION_TITLE, None, outcome.end, session=outcome)
    change: Change = outcome
    title = TITLES[change.rule]
    message = f"{title} {'began' if change.on else 'ended'}"
    return Event(change.rule, title, message, change.at, on=change.on)


@dataclass(frozen=True, slots=True)
class _AwayMode:
    """A location's away mode, `now` since `since` (None: all along)."""

    now: bool
    since: datetime | None

    def during(self, start: datetime) -> bool:
        """Whether away mode was on for all of the minute from `start`.

        The settled minutes a poll judges are minutes old: away mode set on as
        the last shower ends must not count that shower, nor set off leave the
        minutes before as water at home.
        """
        if self.since is None:
            return self.now
        if self.now:
            return start >= self.since
        return start + MINUTE <= self.since


def _readable(spans: Iterable[Span]) -> Iterator[Span]:
    for start, minutes, gallons in spans:
        if minutes >= 1 and math.isfinite(gallons) and gallons >= 0:
            yield start, minutes, gallons


def _earliest(spans: list[Span], horizon: datetime) -> datetime:
    """Where a sensor's first judgement starts: the answer's oldest minute."""
    starts = [start for start, _, _ in _readable(spans) if start < horizon]
    return min(starts, default=horizon)


def _judge(
    tracker: Tracker,
    spans: list[Span],
    horizon: datetime,
    away: _AwayMode,
    limits: Thresholds,
) -> Iterator[Outcome]:
    """Judge the minutes from the tracker's `through` on, while the answer has them."""
    minutes: dict[datetime, float] = {}
    longer: dict[datetime, datetime] = {}
    for start, length, gallons in _readable(spans):
        if length == 1:
            minutes[start] = gallons
        else:
            longer[start] = max(longer.get(start, start), start + length * MINUTE)
    if not minutes and not longer:
        return  # nothing readable: wait for a later answer
    oldest = min([*minutes, *longer])
    while tracker.through < horizon:
        at = tracker.through
        if at in minutes:
            yield from tracker.minute(minutes[at], away.during(at), limits)
        elif at in longer and longer[at] <= horizon:
            log.debug("%s to %s: not read minute by minute", at, longer[at])
            yield from tracker.gap(longer[at])
        elif at < oldest:
            # Older than anything Flume still answers with: it will never come.
            log.debug("%s to %s: no longer in Flume's answers", at, oldest)
            yield from tracker.gap(min(oldest, horizon))
        else:
            return  # not in the answer yet: a later poll reads it


def thresholds(settings: Settings, units: UnitSystem) -> Thresholds:
    """The rules' settings in gallons: RULE_* in UNITS, or UNITS' defaults."""
    flow, volume = RULE_DEFAULTS[settings.units]
    flow = settings.rule_sustained_flow or flow
    volume = settings.rule_away_volume or volume
    return Thresholds(
        continuous_minutes=settings.rule_continuous_minutes,
        sustained_gpm=flow / units.per_gpm,
        sustained_minutes=settings.rule_sustained_minutes,
        away_gallons=volume / units.per_gallon,
        session_gap=settings.session_gap_minutes,
    )

"""One sensor's local rules and water-use sessions, judged settled minute by minute.

The state is plain data so that the book can keep it in STATE_DIR: a restart resumes
every streak, every rule's value and the open session where they were.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bridge.models import Session

MINUTE = timedelta(minutes=1)
# "More than RULE_AWAY_VOLUME in an hour": the trailing window of away minutes.
AWAY_WINDOW = 60
CONTINUOUS, SUSTAINED, AWAY = "continuous_flow", "sustained_flow", "away_flow"
RULES = (CONTINUOUS, SUSTAINED, AWAY)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The rules' settings in gallons and minutes; 0 minutes turns a rule off."""

    continuous_minutes: int = 120
    sustained_gpm: float = 5.0
    sustained_minutes: int = 30
    away_gallons: float = 1.0
    session_gap: int = 2


@dataclass(frozen=True, slots=True)
class Change:
    """A rule that turned on or off at the end of the minute ending `at`."""

    rule: str
    on: bool
    at: datetime


Outcome = Change | Session


@dataclass(slots=True)
class OpenSession:
    """The water-use session still running: its wet minutes so far."""

    start: datetime
    last_wet_end: datetime
    gallons: float = 0.0
    peak_gpm: float = 0.0
    dry: int = 0  # dry minutes since the last wet one

    def closed(self) -> Session:
        """The session as it ended with its last wet minute."""
        minutes = round((self.last_wet_end - self.start) / MINUTE)
        average = self.gallons / minutes
        return Session(
            self.start, self.last_wet_end, minutes, self.gallons, self.peak_gpm, average
        )


@dataclass(slots=True)
class Tracker:
    """What one sensor's rules know: streaks, values, the away window, the session."""

    through: datetime  # end of the newest minute judged
    on: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(RULES, False))
    wet_streak: int = 0  # minutes in a row with water
    high_streak: int = 0  # minutes in a row above the sustained rate
    away: list[float] = field(default_factory=list)  # gallons of recent away minutes
    session: OpenSession | None = None
    last_session: Session | None = None

    def minute(
        self, gallons: float, away: bool, limits: Thresholds
    ) -> Iterator[Outcome]:
        """Judge the minute after `through`: what changed, and a session that ended."""
        start = self.through
        self.through = end = start + MINUTE
        wet = gallons > 0
        self.wet_streak = self.wet_streak + 1 if wet else 0
        high = gallons > limits.sustained_gpm
        self.high_streak = self.high_streak + 1 if high else 0
        self.away = [*self.away, gallons if away else 0.0][-AWAY_WINDOW:]
        yield from self._sessions(start, gallons, limits.session_gap)
        continuous = self._held(
            CONTINUOUS, wet, self.wet_streak, limits.continuous_minutes
        )
        sustained = self._held(
            SUSTAINED, high, self.high_streak, limits.sustained_minutes
        )
        yield from self._set(CONTINUOUS, continuous, end)
        yield from self._set(SUSTAINED, sustained, end)
        yield from self._set(AWAY, self._away_flow(wet, away, limits), end)

    def gap(self, end: datetime) -> Iterator[Outcome]:
        """Minutes up to `end` that were not read one by one: streaks start again.

        The open session ends with its last wet minute (its minutes are settled);
        the rules keep their values until a minute read decides.
        """
        self.through = max(self.through, end)
        self.wet_streak = self.high_streak = 0
        self.away = []
        if self.session is not None:
            yield self._close(self.session)

    def _held(self, rule: str, holds: bool, streak: int, minutes: int) -> bool:
        """Whether a streak rule is on (0 minutes: never).

        A rule that is on stays on while its condition holds, even when a gap
        restarted its streak: only a minute that breaks the condition turns it off.
        """
        return minutes > 0 and (streak >= minutes or (self.on[rule] and holds))

    def _away_flow(self, wet: bool, away: bool, limits: Thresholds) -> bool:
        if not away:
            self.away = []
            return False
        if self.on[AWAY] and not wet:
            self.away = []  # the water stopped: count anew before turning on again
            return False
        return sum(self.away) > limits.away_gallons

    def _set(self, rule: str, on: bool, at: datetime) -> Iterator[Change]:
        if self.on[rule] != on:
            self.on[rule] = on
            yield Change(rule, on, at)

    def _sessions(self, start: datetime, gallons: float, gap: int) -> Iterator[Session]:
        session = self.session
        if gallons > 0:
            if session is None:
                session = self.session = OpenSession(start, start)
            session.gallons += gallons
            session.peak_gpm = max(session.peak_gpm, gallons)
            session.last_wet_end, session.dry = start + MINUTE, 0
        elif session is not None:
            session.dry += 1
            if session.dry >= gap:
                yield self._close(session)

    def _close(self, session: OpenSession) -> Session:
        self.session = None
        self.last_session = session.closed()
        return self.last_session

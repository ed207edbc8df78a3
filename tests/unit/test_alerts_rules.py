"""Local rules and sessions over settled minutes: values, events once, rules.json."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bridge.alerts import RuleBook, Thresholds, thresholds
from bridge.alerts.rulebook import RULES_FILE
from bridge.config import Settings
from bridge.models import UNIT_SYSTEMS, Event

T0 = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
LIMITS = Thresholds(
    continuous_minutes=15,
    sustained_gpm=5.0,
    sustained_minutes=10,
    away_gallons=1.0,
    session_gap=2,
)
DEVICE = "6248148189204194987"

Span = tuple[datetime, int, float]


def minutes(gallons: Sequence[float], start: datetime = T0) -> list[Span]:
    """One span a minute from `start`."""
    return [(start + i * MINUTE, 1, float(g)) for i, g in enumerate(gallons)]


def primed(tmp_path: Path, limits: Thresholds = LIMITS) -> RuleBook:
    """A book that has judged one dry minute at T0 (its first update: no events)."""
    book = RuleBook(tmp_path, limits)
    assert book.update(DEVICE, minutes([0]), T0 + MINUTE, away=False) == []
    return book


def feed(
    book: RuleBook, gallons: Sequence[float], start: datetime, *, away: bool = False
) -> list[Event]:
    """Hand the book these minutes from `start` and the horizon at their end."""
    end = start + len(gallons) * MINUTE
    return book.update(DEVICE, minutes(gallons, start), end, away)


def kinds(events: Sequence[Event]) -> list[tuple[str, bool | None, datetime]]:
    return [(e.type, e.on, e.at) for e in events]


def test_continuous_flow_turns_on_at_its_minutes_and_off_at_the_first_dry_one(
    tmp_path: Path,
) -> None:
    """A trickle turns the rule on with its 15th wet minute and off with a dry one."""
    book = primed(tmp_path)
    start = T0 + MINUTE
    events = feed(book, [0.25] * 14, start)
    assert events == []
    tracker = book.tracker(DEVICE)
    assert tracker is not None
    assert tracker.on["continuous_flow"] is False
    events = feed(book, [0.25], start + 14 * MINUTE)
    assert kinds(events) == [("continuous_flow", True, start + 15 * MINUTE)]


def test_continuous_flow_off_is_told_once_with_the_minute_that_decided(
    tmp_path: Path,
) -> None:
    """Off comes at the end of the first dry minute, once; the session after the gap."""
    book = primed(tmp_path)
    start = T0 + MINUTE
    on = feed(book, [0.25] * 16, start)
    off = feed(book, [0, 0], start + 16 * MINUTE)
    assert kinds(on) == [("continuous_flow", True, start + 15 * MINUTE)]
    assert kinds(off) == [
        ("continuous_flow", False, start + 17 * MINUTE),
        ("session", None, start + 16 * MINUTE),
    ]
    session = off[1].session
    assert session is not None
    assert (session.start, session.end, session.minutes) == (start, off[1].at, 16)
    assert session.volume == pytest.approx(4.0)
    assert session.peak_flow == pytest.approx(0.25)
    assert session.average_flow == pytest.approx(0.25)


def test_sustained_flow_needs_the_rate_for_its_minutes(tmp_path: Path) -> None:
    """Above 5 gal/min for 10 minutes turns it on; a minute at the rate turns it off."""
    book = primed(tmp_path)
    start = T0 + MINUTE
    assert feed(book, [6.0] * 9 + [5.0], start) == []  # 9 above, then at the rate
    events = feed(book, [6.0] * 10 + [2.0], start + 10 * MINUTE)
    assert [k for k in kinds(events) if k[0] == "sustained_flow"] == [
        ("sustained_flow", True, start + 20 * MINUTE),
        ("sustained_flow", False, start + 21 * MINUTE),
    ]


def test_away_flow_needs_away_mode_and_more_than_the_volume(tmp_path: Path) -> None:
    """Water while away turns it on past 1 gal in the hour; dry or home turns it off."""
    book = primed(tmp_path)
    start = T0 + MINUTE
    assert feed(book, [2.0], start, away=False) == []  # at home: no rule
    assert feed(book, [0.5, 0, 0.5], start + MINUTE, away=True) == []  # 1 gal: not more
    events = feed(book, [0.25, 0], start + 4 * MINUTE, away=True)
    assert [(e.type, e.on) for e in events if e.type == "away_flow"] == [
        ("away_flow", True),
        ("away_flow", False),
    ]
    # Counted anew after it turned off: one more small drop is not enough.
    assert [e.type for e in feed(book, [0.5], start + 6 * MINUTE, away=True)] == []
    events = feed(book, [2.0, 2.0], start + 7 * MINUTE, away=True)
    assert [(e.type, e.on) for e in events] == [("away_flow", True)]
    events = feed(book, [2.0], start + 9 * MINUTE, away=False)
    assert [(e.type, e.on) for e in events] == [("away_flow", False)]


def test_a_short_pause_stays_in_the_session_and_sessions_add_up(
    tmp_path: Path,
) -> None:
    """One dry minute is a pause; two end the session; the volumes sum to the water."""
    book = primed(tmp_path)
    start = T0 + MINUTE
    water = [1.0, 0, 1.0, 0, 0, 2.0, 3.0, 0, 0, 0]
    events = feed(book, water, start)
    sessions = [e.session for e in events if e.session is not None]
    assert [(s.start, s.end, s.minutes) for s in sessions] == [
        (start, start + 3 * MINUTE, 3),
        (start + 5 * MINUTE, start + 7 * MINUTE, 2),
    ]
    assert sum(s.volume for s in sessions) == sum(water)
    assert sessions[1].peak_flow == 3.0
    tracker = book.tracker(DEVICE)
    assert tracker is not None
    assert tracker.last_session == sessions[1]


def test_a_restart_resumes_values_and_never_repeats_an_event(tmp_path: Path) -> None:
    """rules.json keeps streaks, values and the open session: nothing is told twice."""
    book = primed(tmp_path)
    start = T0 + MINUTE
    water = [0.25] * 20
    assert len(feed(book, water[:16], start)) == 1  # on
    again = RuleBook(tmp_path, LIMITS)
    tracker = again.tracker(DEVICE)
    assert tracker is not None
    assert tracker.on["continuous_flow"] is True
    # The same answer again, and more: only the new minutes are judged.
    assert again.update(DEVICE, minutes(water, start), start + 20 * MINUTE, False) == []
    events = again.update(
        DEVICE, minutes([*water, 0, 0], start), start + 22 * MINUTE, False
    )
    assert [e.type for e in events] == ["continuous_flow", "session"]
    assert events[1].session is not None
    assert events[1].session.minutes == 20  # the session began before the restart


def test_the_first_update_judges_the_history_without_events(tmp_path: Path) -> None:
    """A leak already running shows at the first poll, with no event for the past."""
    book = RuleBook(tmp_path, LIMITS)
    events = book.update(DEVICE, minutes([0.25] * 30), T0 + 30 * MINUTE, away=False)
    tracker = book.tracker(DEVICE)
    assert events == []
    assert tracker is not None
    assert tracker.on["continuous_flow"] is True
    assert tracker.through == T0 + 30 * MINUTE


def test_a_minute_not_delivered_yet_waits_for_a_later_poll(tmp_path: Path) -> None:
    """A hole in the answer stops the judging there; the minute is read later."""
    book = primed(tmp_path)
    start = T0 + MINUTE
    spans = minutes([0.25] * 5, start)
    del spans[2]
    book.update(DEVICE, spans, start + 5 * MINUTE, away=False)
    tracker = book.tracker(DEVICE)
    assert tracker is not None
    assert tracker.through == start + 2 * MINUTE
    book.update(DEVICE, minutes([0.25] * 5, start), start + 5 * MINUTE, away=False)
    assert tracker.wet_streak == 5


def test_minutes_only_known_as_an_hour_end_the_session_and_restart_streaks(
    tmp_path: Path,
) -> None:
    """A back-filled hour is a gap: the open session ends, the streak starts again."""
    book = primed(tmp_path)
    start = T0 + MINUTE
    feed(book, [0.25] * 16, start)
    hour = (start + 16 * MINUTE, 60, 15.0)
    after = minutes([0.25], start + 76 * MINUTE)
    events = book.update(DEVICE, [hour, *after], start + 77 * MINUTE, away=False)
    assert [e.type for e in events] == ["session"]
    tracker = book.tracker(DEVICE)
    assert tracker is not None
    assert tracker.on["continuous_flow"] is True  # still wet: it stays on
    assert tracker.wet_streak == 1


def test_bad_minutes_never_crash_and_are_not_judged(tmp_path: Path) -> None:
    """NaN, infinite or negative water is skipped like a minute not delivered."""
    book = primed(tmp_path)
    start = T0 + MINUTE
    spans: list[Span] = [
        (start, 1, float("nan")),
        (start, 1, -1.0),
        (start + MINUTE, 1, float("inf")),
    ]
    assert book.update(DEVICE, spans, start + 2 * MINUTE, away=False) == []
    tracker = book.tracker(DEVICE)
    assert tracker is not None
    assert tracker.through == start


@pytest.mark.parametrize("damage", [b"", b"{", b'{"format": 1}', b'{"format": 9}'])
def test_a_damaged_file_is_logged_and_the_rules_start_afresh_without_events(
    tmp_path: Path, damage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """A rules.json that cannot be read costs no crash and no repeated event."""
    (tmp_path / RULES_FILE).write_bytes(damage)
    with caplog.at_level(logging.WARNING):
        book = RuleBook(tmp_path, LIMITS)
    assert "start afresh" in caplog.text
    events = book.update(DEVICE, minutes([0.25] * 20), T0 + 20 * MINUTE, away=False)
    assert events == []
    assert book.tracker(DEVICE) is not None


def test_a_poll_that_changes_nothing_leaves_rules_json_alone(tmp_path: Path) -> None:
    """No new settled minute, no write (same inode and time); a new one is written."""
    book = primed(tmp_path)
    path = tmp_path / RULES_FILE
    before = path.stat()
    assert book.update(DEVICE, minutes([0, 0.25]), T0 + MINUTE, away=False) == []
    again = RuleBook(tmp_path, LIMITS)  # what was read counts as written
    assert again.update(DEVICE, minutes([0]), T0 + MINUTE, away=False) == []
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert feed(again, [0.25], T0 + MINUTE) == []
    assert path.stat().st_ino != before.st_ino
    document = json.loads(path.read_bytes())
    assert document["devices"][DEVICE]["through"] == (T0 + 2 * MINUTE).isoformat()


def test_an_unwritable_state_dir_keeps_judging(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed save is one warning; the rules go on in memory."""
    (tmp_path / RULES_FILE).mkdir()  # the rename onto a directory fails
    book = primed(tmp_path)
    with caplog.at_level(logging.WARNING):
        events = feed(book, [0.25] * 16, T0 + MINUTE)
    assert [e.type for e in events] == ["continuous_flow"]
    assert "could not save" in caplog.text


def test_zero_minutes_turn_a_rule_off(tmp_path: Path) -> None:
    """RULE_CONTINUOUS_MINUTES=0 and RULE_SUSTAINED_MINUTES=0 never turn on."""
    limits = Thresholds(0, 5.0, 0, 1.0, 2)
    book = primed(tmp_path, limits)
    events = feed(book, [9.0] * 200, T0 + MINUTE)
    assert events == []


@pytest.mark.parametrize(
    ("units", "gpm", "gallons"),
    [
        ("gallons", 5.0, 1.0),
        ("liters", 5.02, 1.06),
        ("cubic_feet", 5.01, 0.97),
        ("cubic_meters", 4.84, 1.06),
    ],
)
def test_defaults_follow_units(units: str, gpm: float, gallons: float) -> None:
    """The defaults are about 5 gal/min and about 1 gal in every UNITS."""
    settings = Settings.model_validate({"units": units})
    limits = thresholds(settings, UNIT_SYSTEMS[units])
    assert limits.sustained_gpm == pytest.approx(gpm, abs=0.01)
    assert limits.away_gallons == pytest.approx(gallons, abs=0.01)
    assert (limits.continuous_minutes, limits.sustained_minutes) == (120, 30)
    assert limits.session_gap == 2


def test_settings_override_the_defaults_in_their_units() -> None:
    """RULE_SUSTAINED_FLOW is in flow_unit (m³/h) and RULE_AWAY_VOLUME in unit."""
    settings = Settings(
        units="cubic_meters", rule_sustained_flow=2.0, rule_away_volume=0.01
    )
    limits = thresholds(settings, UNIT_SYSTEMS["cubic_meters"])
    assert limits.sustained_gpm == pytest.approx(2.0 / (3.785411784 * 60 / 1000))
    assert limits.away_gallons == pytest.approx(10 / 3.785411784)


def stored(tmp_path: Path) -> dict[str, Any]:
    """rules.json of a book with an open session and a last one, as a document."""
    book = primed(tmp_path)
    feed(book, [1.0, 0, 0, 2.0], T0 + MINUTE)
    document: dict[str, Any] = json.loads((tmp_path / RULES_FILE).read_bytes())
    return document


def test_rules_json_keeps_an_open_session_and_the_last_one(tmp_path: Path) -> None:
    """What a restart loads is what was judged: the open session, the last one."""
    stored(tmp_path)
    before = primed(tmp_path).tracker(DEVICE)
    again = RuleBook(tmp_path, LIMITS).tracker(DEVICE)
    assert again == before
    assert again is not None
    assert again.session is not None
    assert again.last_session is not None


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.update(devices=[]),
        lambda d: d["devices"][DEVICE]["on"].pop("away_flow"),
        lambda d: d["devices"][DEVICE].update(away=["x"]),
        lambda d: d["devices"][DEVICE].update(away=[-1.0]),
        lambda d: d["devices"][DEVICE].update(wet_streak=True),
        lambda d: d["devices"][DEVICE].update(through="2026-11-28T00:00:00"),
        lambda d: d["devices"][DEVICE].update(through=5),
        lambda d: d["devices"][DEVICE]["session"].update(dry=-1),
        lambda d: d["devices"][DEVICE]["last_session"].update(minutes="8"),
    ],
)
def test_each_damaged_field_of_rules_json_is_refused(
    tmp_path: Path, damage: Callable[[dict[str, Any]], object]
) -> None:
    """A field of the wrong kind makes the whole file unreadable: start afresh."""
    document = stored(tmp_path)
    damage(document)
    (tmp_path / RULES_FILE).write_text(json.dumps(document))
    assert RuleBook(tmp_path, LIMITS).tracker(DEVICE) is None


def test_minutes_older_than_any_answer_are_a_gap(tmp_path: Path) -> None:
    """A book far behind Flume's answers (an old rules.json) skips to what they hold."""
    book = primed(tmp_path)
    feed(book, [1.0], T0 + MINUTE)
    later = T0 + 30 * MINUTE
    events = book.update(DEVICE, minutes([0, 0], later), later + 2 * MINUTE, False)
    assert [e.type for e in events] == ["session"]
    tracker = book.tracker(DEVICE)
    assert tracker is not None
    assert tracker.through == later + 2 * MINUTE

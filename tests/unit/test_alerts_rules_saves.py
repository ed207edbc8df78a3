"""When the rule book writes rules.json: a change at once, dry minutes in batches."""

from __future__ import annotations

from pathlib import Path

from bridge.alerts import RuleBook
from bridge.alerts.rulebook import RULES_FILE, SAVE_DRY
from bridge.alerts.rules import AWAY_WINDOW
from tests.support.statefiles import through_on_disk
from tests.unit.test_alerts_rules import DEVICE, LIMITS, MINUTE, T0, feed, primed

DRY_MINUTES = int(SAVE_DRY / MINUTE)


def test_dry_minutes_wait_for_save_dry_minutes(tmp_path: Path) -> None:
    """Minutes that move only `through` are written once SAVE_DRY minutes passed."""
    book = primed(tmp_path)
    assert feed(book, [0.0] * (DRY_MINUTES - 1), T0 + MINUTE) == []
    assert through_on_disk(tmp_path / RULES_FILE, DEVICE) == (T0 + MINUTE).isoformat()
    assert feed(book, [0.0], T0 + DRY_MINUTES * MINUTE) == []
    assert (
        through_on_disk(tmp_path / RULES_FILE, DEVICE)
        == (T0 + (DRY_MINUTES + 1) * MINUTE).isoformat()
    )


def test_water_is_written_at_once(tmp_path: Path) -> None:
    """A wet minute changes the streaks: rules.json has it when update() returns."""
    book = primed(tmp_path)
    feed(book, [0.0, 0.0, 0.25], T0 + MINUTE)
    assert (
        through_on_disk(tmp_path / RULES_FILE, DEVICE) == (T0 + 4 * MINUTE).isoformat()
    )


def test_a_kill_in_a_dry_spell_tells_nothing_again(tmp_path: Path) -> None:
    """Killed with dry minutes unsaved, a restart judges them again without events."""
    book = primed(tmp_path)
    feed(book, [0.0] * AWAY_WINDOW, T0 + MINUTE)  # the away window full of dry minutes
    wet = T0 + (AWAY_WINDOW + 1) * MINUTE
    assert [e.type for e in feed(book, [0.25] * 16, wet)] == ["continuous_flow"]
    ended = feed(book, [0.0] * 3, wet + 16 * MINUTE)
    assert {(e.type, e.on) for e in ended} == {
        ("continuous_flow", False),
        ("session", None),
    }
    saved = through_on_disk(tmp_path / RULES_FILE, DEVICE)
    assert feed(book, [0.0] * 4, wet + 19 * MINUTE) == []
    assert (
        through_on_disk(tmp_path / RULES_FILE, DEVICE) == saved
    )  # only `through` moved: not written
    again = RuleBook(tmp_path, LIMITS)  # no flush: as after a SIGKILL or a power cut
    assert feed(again, [0.0] * 5, wet + 18 * MINUTE) == []
    assert again.tracker(DEVICE) == book.tracker(DEVICE)


def test_flush_saves_the_dry_minutes(tmp_path: Path) -> None:
    """flush() (a clean stop) writes what only moved `through`."""
    book = primed(tmp_path)
    feed(book, [0.0] * 3, T0 + MINUTE)
    assert through_on_disk(tmp_path / RULES_FILE, DEVICE) == (T0 + MINUTE).isoformat()
    book.flush()
    assert (
        through_on_disk(tmp_path / RULES_FILE, DEVICE) == (T0 + 4 * MINUTE).isoformat()
    )

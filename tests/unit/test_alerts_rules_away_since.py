"""away_flow judges each settled minute with the away mode it had, not the poll's."""

from __future__ import annotations

from pathlib import Path

from bridge.models import Event
from tests.unit.test_alerts_rules import DEVICE, MINUTE, T0, minutes, primed


def away_changes(events: list[Event]) -> list[tuple[bool | None, object]]:
    return [(e.on, e.at) for e in events if e.type == "away_flow"]


def test_water_just_before_away_mode_went_on_is_not_water_while_away(
    tmp_path: Path,
) -> None:
    """A shower ending as away mode goes on, judged a poll later, turns nothing on."""
    book = primed(tmp_path)
    start = T0 + MINUTE
    since = start + 3 * MINUTE + MINUTE / 4  # away mode on, 15 s into the 4th minute
    spans = minutes([2.5, 2.5, 2.5, 2.5, 0, 0], start)
    events = book.update(DEVICE, spans, start + 6 * MINUTE, True, since)
    assert away_changes(events) == []
    later = minutes([2.5], start + 6 * MINUTE)  # a whole minute while away
    events = book.update(DEVICE, later, start + 7 * MINUTE, True, since)
    assert away_changes(events) == [(True, start + 7 * MINUTE)]


def test_away_mode_off_ends_away_flow_with_the_first_minute_at_home(
    tmp_path: Path,
) -> None:
    """Away mode off, read a poll later: the minutes before it still count as away."""
    book = primed(tmp_path)
    start = T0 + MINUTE
    spans = minutes([2.0], start)
    events = book.update(DEVICE, spans, start + MINUTE, True)
    assert away_changes(events) == [(True, start + MINUTE)]
    since = start + 3 * MINUTE + MINUTE / 4  # off, 15 s into the 4th minute
    spans = minutes([2.0, 2.0, 2.0, 2.0], start + MINUTE)
    events = book.update(DEVICE, spans, start + 5 * MINUTE, False, since)
    # The 4th minute was partly at home: it is the first one not away.
    assert away_changes(events) == [(False, start + 4 * MINUTE)]

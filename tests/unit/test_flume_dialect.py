"""What the server honours, learnt once; each field of an answer read on its own."""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bridge.errors import FlumeProtocolError
from bridge.flume import convert
from bridge.flume.buckets import buckets, starts, value
from bridge.flume.dialect import Dialect, Habits
from bridge.flume.reading import FieldWatch, read
from bridge.flume.windows import usage_windows
from bridge.models import Answer, Point
from tests.support.clock import utc

NOW = utc(2026, 6, 1, 10, 30, 20)
TZ = "Europe/Berlin"


def test_each_lesson_is_logged_once_at_info(caplog: pytest.LogCaptureFixture) -> None:
    """Learning what is known already says nothing; a new lesson says it once."""
    caplog.set_level(logging.DEBUG)
    habits = Habits()
    assert habits.learn(grouping=False) is True
    assert habits.learn(grouping=False) is False
    assert habits.learn(sorting=False, newest_first=True) is True
    assert habits.dialect == Dialect(grouping=False, sorting=False, newest_first=True)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "Flume ignores group_multiplier: grouping its minutes here "
         "instead"),
        (logging.INFO, "Flume ignores sort_direction: placing its buckets by their "
         "labels"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "learnt"),
    [
        ("POST /users/1/devices/2/query: HTTP 400: A provided parameter failed "
         "validation; queries holds 12 queries; at most 10 are allowed", None),
        ("POST /u/1/d/2/query: HTTP 400: x; queries holds 7 queries; at most 4 are "
         "allowed", ("max_queries", 4)),
        ("POST /u/1/d/2/query: HTTP 400: x; minutes: a MIN window may span at most "
         "12 hours", ("max_min_hours", 12)),
        ("POST /u/1/d/2/query: HTTP 400: x; group_multiplier must be at most 100",
         None),
        ("POST /u/1/d/2/query: HTTP 400: x; a MIN window may span at most 48 hours",
         None),  # a refusal never raises a limit
    ],
)  # fmt: skip
def test_a_400_teaches_only_a_smaller_limit_it_names(
    text: str, learnt: tuple[str, int] | None
) -> None:
    """Queries or hours, read from the words around "at most N"; only lowered."""
    habits = Habits()
    assert habits.limit_named(text) is (learnt is not None)
    if learnt is not None:
        name, number = learnt
        assert getattr(habits.dialect, name) == number


def test_what_the_server_ignores_is_no_longer_sent() -> None:
    """After the lessons: no group_multiplier, no sort_direction; one-minute steps."""
    dialect = Dialect(grouping=False, sorting=False, newest_first=True)
    for window in usage_windows(NOW, TZ, dialect=dialect):
        assert "group_multiplier" not in window.query
        assert "sort_direction" not in window.query
        assert window.step in (0, 1)


def test_twelve_hours_a_series_cut_the_day_in_two_parts() -> None:
    """A 12-hour limit asks for last_24_hours as two 12-hour parts."""
    windows = usage_windows(NOW, TZ, dialect=Dialect(max_min_hours=12))
    parts = [w for w in windows if w.field == "last_24_hours"]
    assert [w.request_id for w in parts] == ["last_24_hours", "last_24_hours#2"]
    assert [w.end - w.start for w in parts] == [parts[0].end - parts[0].start] * 2
    assert parts[0].end == parts[1].start


def sound_answer() -> dict[str, list[Point]]:
    """Every window of NOW answered without labels, positionally sound."""
    found: dict[str, list[Point]] = {}
    for window in usage_windows(NOW, TZ):
        count = 1 if window.first_bucket is None else 15 if window.step == 1 else 1
        if window.request_id == "last_24_hours":
            count = 24
        found[window.request_id] = [Point(None, 1.0)] * count
    return found


def test_a_negative_or_missing_window_costs_only_its_field() -> None:
    """A negative volume, a NaN, a problem from the edge: those fields only."""
    windows = usage_windows(NOW, TZ)
    found = sound_answer()
    found["today"] = [Point(None, -1.0)]
    found["this_week"] = [Point(None, float("nan"))]
    del found["this_month"]
    answer = Answer(found, {"this_month": "this_month[0]: malformed (value: x)"})
    result = read(windows, answer)
    assert set(result.problems) == {"today", "this_week", "this_month"}
    assert result.problems["this_month"] == "this_month[0]: malformed (value: x)"
    assert result.values == {
        "last_60_min": 1.0,
        "last_24_hours": 24.0,
        "this_year": 1.0,
        "yesterday": 1.0,
        "last_month": 1.0,
    }
    assert len(result.spans) == 15


def test_one_malformed_series_leaves_the_others_readable() -> None:
    """convert.series parses each request_id on its own."""
    answer = convert.series(
        [{"today": [{"value": "1,5"}], "week": {"x": 1}, "minutes": [{"value": 2}]}]
    )
    assert dict(answer) == {"minutes": [Point(None, 2.0)]}
    assert set(answer.problems) == {"today", "week"}
    assert "malformed" in answer.problems["today"]


def test_a_field_warns_once_per_streak(caplog: pytest.LogCaptureFixture) -> None:
    """WARNING at the first failure, DEBUG while it lasts, INFO when it reads again."""
    caplog.set_level(logging.DEBUG, logger="bridge.flume.reading")
    watch = FieldWatch()
    windows = usage_windows(NOW, TZ)
    bad = sound_answer()
    del bad["today"]
    for answer in (bad, bad, sound_answer(), bad):
        watch.note("7", [w.field for w in windows], read(windows, answer))
    assert [(r.levelno, r.getMessage()[:22]) for r in caplog.records] == [
        (logging.WARNING, "today of 7 unreadable:"),
        (logging.DEBUG, "today of 7 unreadable:"),
        (logging.INFO, "today of 7 reads again"),
        (logging.WARNING, "today of 7 unreadable:"),
    ]


def test_parts_are_cut_where_both_wall_times_are_unambiguous() -> None:
    """12 hours a series, on the LA fall-back day: no cut in the second 01:xx.

    12 hours from the start falls on the second 01:30 (PST), a wall time Flume reads
    as the first: the cut moves back a group, to the first 01:30 (PDT).
    """
    now = utc(2026, 11, 1, 21, 30, 0)
    zone = ZoneInfo("America/Los_Angeles")
    windows = usage_windows(now, zone.key, dialect=Dialect(max_min_hours=12))
    parts = [w for w in windows if w.field == "last_24_hours"]
    assert len(parts) == 3
    assert parts[0].start == now - timedelta(hours=24)
    assert parts[-1].end == now
    for part in parts:
        assert part.end - (part.first_bucket or part.start) <= timedelta(hours=12)
        assert part.first_bucket == part.start  # every since names one instant
    assert parts[1].start == utc(2026, 11, 1, 8, 30, 0)


def test_a_series_that_cannot_be_cut_safely_is_asked_for_whole() -> None:
    """One hour a series, 02:10 PST: the only cut is in the repeated hour."""
    now = utc(2026, 11, 1, 10, 10, 0)
    windows = usage_windows(
        now, "America/Los_Angeles", dialect=Dialect(max_min_hours=1)
    )
    (last_hour,) = [w for w in windows if w.field == "last_60_min"]
    assert last_hour.end - (last_hour.first_bucket or now) == timedelta(hours=2)


def test_unlabelled_buckets_need_an_order_the_server_keeps() -> None:
    """Without labels, and the server known to ignore sort_direction: unsure."""
    (window,) = usage_windows(NOW, TZ, minutes=3)[:1]
    unlabelled = [Point(None, 1.0)] * 3
    learnt = Dialect(sorting=False, newest_first=True)
    with pytest.raises(FlumeProtocolError, match="without labels"):
        buckets(window, unlabelled, learnt)
    assert value(window, unlabelled, learnt) == 3.0  # all in the window: a plain sum
    today = usage_windows(NOW, TZ)[3]
    with pytest.raises(ValueError, match="summed by Flume"):
        starts(today, [])

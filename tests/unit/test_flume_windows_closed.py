"""yesterday and last_month: one SUM each, in the batch's room, never an extra POST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bridge.flume.dialect import Dialect
from bridge.flume.windows import usage_windows

LA = "America/Los_Angeles"
CLOSED = {"yesterday", "last_month"}
NOW = datetime(2026, 3, 10, 18, 30, 15, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def posts(count: int, dialect: Dialect) -> int:
    return -(-count // dialect.max_queries)


def through(minutes_behind: int) -> datetime:
    return NOW.replace(second=0) - minutes_behind * MINUTE


@pytest.mark.parametrize(
    "behind", [None, 15, 1439, 1440, 1441, 1500, 30 * 1440, 60 * 1440]
)
@pytest.mark.parametrize("most", [10, 9, 7, 5, 3])
def test_the_closed_periods_never_add_a_post(behind: int | None, most: int) -> None:
    """Whatever the catch-up and the queries a POST takes, the POSTs are as before."""
    dialect = Dialect(max_queries=most)
    counted = None if behind is None else through(behind)
    windows = usage_windows(NOW, LA, counted_through=counted, dialect=dialect)
    others = [w for w in windows if w.field not in CLOSED]
    assert posts(len(windows), dialect) == posts(len(others), dialect)
    assert len(windows) <= 10 or most < 10


def test_a_normal_cycle_asks_for_both_in_one_post_of_nine() -> None:
    """Up to date: ten queries in one POST, the two closed periods among them.

    Nine, and the recount of the last day's hours for late data (issue 13).
    """
    windows = usage_windows(NOW, LA, counted_through=through(3))
    assert len(windows) == 10
    assert {w.field for w in windows} >= CLOSED


def test_a_catch_up_that_fills_the_batch_leaves_them_out() -> None:
    """A meter a month behind: back-fill takes the room; the batch stays one POST."""
    windows = usage_windows(NOW, LA, counted_through=through(30 * 1440 + 7))
    assert {w.field for w in windows}.isdisjoint(CLOSED)
    assert len(windows) <= 10


def test_the_closed_spans_follow_local_midnights_across_a_fall_back() -> None:
    """On 2 November in Los Angeles, yesterday is the 25-hour 1 November."""
    now = datetime(2026, 11, 2, 20, 0, 30, tzinfo=UTC)
    found = {w.field: w for w in usage_windows(now, LA)}
    yesterday, month = found["yesterday"], found["last_month"]
    assert yesterday.end - yesterday.start == timedelta(hours=25)
    assert yesterday.query["bucket"] == "DAY"
    assert yesterday.query["since_datetime"] == "2026-11-01 00:00:00"
    assert month.query["bucket"] == "MON"
    assert (month.start, month.end) == (
        datetime(2026, 10, 1, 7, tzinfo=UTC),
        datetime(2026, 11, 1, 7, tzinfo=UTC),
    )
    assert month.query["until_datetime"] == "2026-10-31 23:59:00"

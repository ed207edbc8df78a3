"""The recount window: the last day's local hours read again in the same POST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.flume.dialect import Dialect
from bridge.flume.windows import Window, usage_windows
from tests.support.clock import utc

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
LA = "America/Los_Angeles"
NOW = utc(2026, 3, 10, 18, 30, 15)  # 11:30 PDT
ZONES = ("America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe")


DOCUMENTED = Dialect()


def by_id(
    now: datetime, counted: datetime | None, tz: str = LA, dialect: Dialect = DOCUMENTED
) -> dict[str, Window]:
    windows = usage_windows(now, tz, counted_through=counted, dialect=dialect)
    return {w.request_id: w for w in windows}


def hour(instant: datetime, tz: str) -> datetime:
    """The start of the local hour holding `instant`."""
    local = instant.astimezone(ZoneInfo(tz)).replace(minute=0, second=0)
    return local.astimezone(UTC)


def test_a_steady_meter_reads_the_last_day_again_in_hr_buckets() -> None:
    """From the local hour 24 h back to the counted minute's hour: one POST of 10."""
    counted = utc(2026, 3, 10, 18, 27, 0)
    windows = by_id(NOW, counted)
    recount = windows["recount"]
    assert (recount.start, recount.end) == (
        utc(2026, 3, 9, 18, 0, 0),
        utc(2026, 3, 10, 18, 0, 0),
    )
    assert recount.query["bucket"] == "HR"
    assert recount.query["since_datetime"] == "2026-03-09 11:00:00"
    assert recount.query["until_datetime"] == "2026-03-10 10:59:00"
    assert (recount.first_bucket, recount.step) == (recount.start, 60)
    assert windows["minutes"].start == recount.end  # the hour in progress, by minute
    assert len(windows) == 10  # with yesterday and last_month


def test_no_recount_before_the_first_count_or_a_day_behind() -> None:
    """First sight has nothing counted; a day behind, the back-fill reads the hours."""
    assert "recount" not in by_id(NOW, None)
    behind = by_id(NOW, utc(2026, 3, 9, 16, 7, 0))
    assert "recount" not in behind
    assert {"backfill_minutes", "backfill"} <= set(behind)
    assert len(behind) == 9


@pytest.mark.parametrize(("most", "kept"), [(10, True), (9, False), (5, True)])
def test_the_recount_never_costs_a_post(most: int, kept: bool) -> None:
    """With a server that takes fewer queries, the recount goes when it needs a POST."""
    dialect = Dialect(max_queries=most)
    windows = by_id(NOW, utc(2026, 3, 10, 18, 27, 0), dialect=dialect)
    assert ("recount" in windows) is kept


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    now=st.datetimes(
        min_value=datetime(2026, 1, 1),  # noqa: DTZ001 (hypothesis wants naive bounds)
        max_value=datetime(2027, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    back=st.integers(0, 1500),
    tz=st.sampled_from(ZONES),
)
def test_the_minutes_and_the_recount_reach_every_counted_minute_of_the_day(
    now: datetime, back: int, tz: str
) -> None:
    """Whole local hours from 24 h back, then minutes from the counted hour on.

    So every counted minute of the last day is read again, in a bucket of its own
    hour; the batch is never split in more POSTs than without the recount.
    """
    end = now.replace(second=0, microsecond=0)
    counted = end - back * MINUTE
    windows = by_id(now, counted, tz)
    minutes, recount = windows["minutes"], windows.get("recount")
    if recount is None:
        assert hour(counted, tz) <= hour(end - 24 * HOUR, tz)
        return
    assert recount.start == hour(end - 24 * HOUR, tz)
    assert minutes.start <= recount.end == hour(counted, tz)
    assert recount.query["bucket"] == "HR"
    assert len(windows) <= Dialect().max_queries  # one POST

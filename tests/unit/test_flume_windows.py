"""Query windows as pure functions: payloads, UTC spans, DST days, reading answers."""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bridge.errors import FlumeProtocolError
from bridge.flume.buckets import buckets, value
from bridge.flume.windows import (
    BACKFILL_HOURS,
    Window,
    queries,
    usage_windows,
)
from bridge.models import Point
from tests.support.clock import utc

LA = "America/Los_Angeles"
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def by_id(now: datetime, tz: str = LA, minutes: int = 15) -> dict[str, Window]:
    return {w.request_id: w for w in usage_windows(now, tz, minutes=minutes)}


def test_an_ordinary_moment_asks_for_every_window() -> None:
    """At 11:30:15 PDT on a Tuesday, each window's query and span are as designed."""
    windows = usage_windows(utc(2026, 3, 10, 18, 30, 15), LA)
    found = {
        w.request_id: (w.query.get("since_datetime"), w.query.get("until_datetime"))
        for w in windows
    }
    assert found == {
        "minutes": ("2026-03-10 11:15:00", "2026-03-10 11:29:00"),
        "last_60_min": ("2026-03-10 10:30:00", "2026-03-10 11:29:00"),
        "last_24_hours": ("2026-03-09 11:30:00", "2026-03-10 11:29:00"),
        "today": ("2026-03-10 00:00:00", "2026-03-10 11:30:00"),
        "this_week": ("2026-03-09 00:00:00", "2026-03-10 11:30:00"),
        "this_month": ("2026-03-01 00:00:00", "2026-03-10 11:30:00"),
        "this_year": ("2026-01-01 00:00:00", "2026-03-10 11:30:00"),
        "yesterday": ("2026-03-09 00:00:00", "2026-03-09 23:59:00"),
        "last_month": ("2026-02-01 00:00:00", "2026-02-28 23:59:00"),
    }
    shapes = [
        (w.query["bucket"], w.query.get("group_multiplier"), w.query.get("operation"))
        for w in windows
    ]
    assert shapes == [
        ("MIN", 1, None),
        ("MIN", 60, None),
        ("MIN", 60, None),
        ("DAY", None, "SUM"),
        ("DAY", None, "SUM"),
        ("MON", None, "SUM"),
        ("YR", None, "SUM"),
        ("DAY", None, "SUM"),
        ("MON", None, "SUM"),
    ]
    assert queries(windows) == [w.query for w in windows]
    assert all(w.query["units"] == "GALLONS" for w in windows)


def test_spans_end_at_the_current_minute_and_start_at_local_edges() -> None:
    """Spans are [edge, floor(now)) in UTC: local midnight, Monday, 1st, 1 January."""
    end = utc(2026, 3, 10, 18, 30, 0)
    spans = {
        k: (w.start, w.end) for k, w in by_id(end + 15 * timedelta(seconds=1)).items()
    }
    assert spans == {
        "minutes": (end - 15 * MINUTE, end),
        "last_60_min": (end - HOUR, end),
        "last_24_hours": (end - 24 * HOUR, end),
        "today": (utc(2026, 3, 10, 7, 0, 0), end),  # PDT midnight
        "this_week": (utc(2026, 3, 9, 7, 0, 0), end),  # Monday, already PDT
        "this_month": (utc(2026, 3, 1, 8, 0, 0), end),  # PST midnight
        "this_year": (utc(2026, 1, 1, 8, 0, 0), end),
        "yesterday": (utc(2026, 3, 9, 7, 0, 0), utc(2026, 3, 10, 7, 0, 0)),
        "last_month": (utc(2026, 2, 1, 8, 0, 0), utc(2026, 3, 1, 8, 0, 0)),
    }


@pytest.mark.parametrize(
    ("tz", "last_minute", "hours"),
    [
        (LA, utc(2026, 3, 9, 6, 59, 30), 23),
        (LA, utc(2026, 11, 2, 7, 59, 30), 25),
        ("Europe/Berlin", utc(2026, 3, 29, 21, 59, 30), 23),
        ("Europe/Berlin", utc(2026, 10, 25, 22, 59, 30), 25),
    ],
)
def test_today_on_a_dst_day_spans_23_or_25_hours(
    tz: str, last_minute: datetime, hours: int
) -> None:
    """In the last minute of a DST day, today spans its 23 or 25 hours less a minute."""
    today = by_id(last_minute, tz)["today"]
    assert today.end - today.start == hours * HOUR - MINUTE


def test_in_the_repeated_hour_series_start_an_hour_early_and_name_no_end() -> None:
    """At 01:30 PST (second 01:30), `minutes` starts at the first 01:15, until = now."""
    minutes = by_id(utc(2026, 11, 1, 9, 30, 20))["minutes"]
    assert minutes.query["since_datetime"] == "2026-11-01 01:15:00"
    assert "until_datetime" not in minutes.query
    assert minutes.start == utc(2026, 11, 1, 9, 15, 0)
    assert minutes.first_bucket == minutes.start - HOUR


def test_after_the_repeated_hour_the_surplus_hour_is_one_group() -> None:
    """At 02:10 PST, last_60_min asks from the first 01:10: one surplus 60-min group."""
    window = by_id(utc(2026, 11, 1, 10, 10, 0))["last_60_min"]
    assert window.query["since_datetime"] == "2026-11-01 01:10:00"
    assert window.query["until_datetime"] == "2026-11-01 02:09:00"
    assert window.first_bucket == window.start - HOUR
    points = [Point("2026-11-01 01:10:00", 5.0), Point("2026-11-01 01:10:00", 7.0)]
    assert buckets(window, points) == [(window.start, 7.0)]
    assert value(window, points) == 7.0


def test_a_half_hour_dst_shift_groups_by_half_hours() -> None:
    """On Lord Howe (30-minute DST), a start in the repeated half hour groups by 30."""
    window = by_id(utc(2026, 4, 4, 16, 0, 0), "Australia/Lord_Howe")["last_60_min"]
    assert window.query["group_multiplier"] == 30
    assert window.first_bucket == window.start - timedelta(minutes=30)


def test_a_sum_is_its_single_value_and_nothing_is_zero() -> None:
    """A SUM answer is one value; an empty answer is no water yet."""
    today = by_id(utc(2026, 3, 10, 18, 30, 15))["today"]
    assert value(today, [Point(None, 12.5)]) == 12.5
    assert value(today, []) == 0.0


def test_a_sum_with_several_values_is_a_protocol_error() -> None:
    """A SUM that comes back as a series is not something we can read."""
    today = by_id(utc(2026, 3, 10, 18, 30, 15))["today"]
    with pytest.raises(FlumeProtocolError, match="today"):
        value(today, [Point(None, 1.0), Point(None, 2.0)])


def test_a_series_keeps_its_minutes_and_drops_the_one_in_progress() -> None:
    """Buckets are placed by position; the bucket after `end` is left out."""
    window = by_id(utc(2026, 3, 10, 18, 30, 15), minutes=2)["minutes"]
    labels = ["2026-03-10 11:28:00", "2026-03-10 11:29:00", "2026-03-10 11:30:00"]
    points = [Point(label, float(k)) for k, label in enumerate(labels)]
    assert buckets(window, points) == [
        (utc(2026, 3, 10, 18, 28, 0), 0.0),
        (utc(2026, 3, 10, 18, 29, 0), 1.0),
    ]


def test_a_bucket_is_placed_by_its_label_not_its_position() -> None:
    """A lone bucket labelled 11:29 is the minute 11:29, whatever its position."""
    window = by_id(utc(2026, 3, 10, 18, 30, 15), minutes=2)["minutes"]
    points = [Point("2026-03-10 11:29:00", 1.0)]
    assert buckets(window, points) == [(utc(2026, 3, 10, 18, 29, 0), 1.0)]


def test_a_bucket_that_cannot_be_placed_is_a_protocol_error() -> None:
    """A label that is no time, or runs backwards, means the series cannot be read."""
    window = by_id(utc(2026, 3, 10, 18, 30, 15), minutes=2)["minutes"]
    for labels in (
        ["2026-03-10 11:28:00", "yesterday"],
        ["2026-03-10 11:29:00", "2026-03-10 11:28:00", "2026-03-10 11:29:00"],
    ):
        points = [Point(label, 1.0) for label in labels]
        with pytest.raises(FlumeProtocolError, match="cannot be placed"):
            buckets(window, points)


def test_only_series_have_buckets() -> None:
    """Asking a Flume-summed window for its buckets is a programming error."""
    with pytest.raises(ValueError, match="summed by Flume"):
        buckets(by_id(utc(2026, 3, 10, 18, 30, 15))["today"], [])


def test_now_must_be_aware_and_minutes_sensible() -> None:
    """A naive `now` or a series of 0 or 1441 minutes is refused."""
    with pytest.raises(ValueError, match="aware"):
        usage_windows(datetime(2026, 3, 10, 18, 30), LA)  # noqa: DTZ001 (the point)
    for minutes in (0, 1441):
        with pytest.raises(ValueError, match="minutes"):
            usage_windows(utc(2026, 3, 10, 18, 30, 0), LA, minutes=minutes)


ZONES = (
    "UTC",
    LA,
    "Europe/Berlin",
    "Australia/Lord_Howe",  # 30-minute DST
    "America/Santiago",  # DST changes at midnight
    "Asia/Kolkata",  # +05:30, no DST
    "Pacific/Chatham",  # +12:45/+13:45
)


def fold0(wall: object, tz: str) -> datetime:
    """How Flume reads a wall time: its first occurrence."""
    assert isinstance(wall, str)
    naive = datetime.strptime(wall, "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 (local wall)
    return naive.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


@functools.cache
def transitions(tz: str) -> list[datetime]:
    """The instants in 2025-2027 at which `tz` changes its UTC offset."""
    zone = ZoneInfo(tz)
    hours = [datetime(2025, 1, 1, tzinfo=UTC) + k * HOUR for k in range(3 * 8760)]
    return [
        b
        for a, b in itertools.pairwise(hours)
        if a.astimezone(zone).utcoffset() != b.astimezone(zone).utcoffset()
    ]


@st.composite
def moments(draw: st.DrawFn) -> tuple[datetime, str]:
    """A zone and an instant: anywhere in 2025-2027, or within a day of a change."""
    tz = draw(st.sampled_from(ZONES))
    near = transitions(tz)
    close = draw(st.booleans())
    if near and close:
        # Mostly the hours around the change, where the trailing windows start.
        hours = draw(st.sampled_from([(-1, 3), (-1, 3), (-26, 26)]))
        seconds = draw(st.integers(hours[0] * 3600, hours[1] * 3600))
        return draw(st.sampled_from(near)) + timedelta(seconds=seconds), tz
    seconds = draw(st.integers(0, 3 * 365 * 86400))
    return datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds), tz


@settings(max_examples=300, deadline=None)
@given(moment=moments())
@example(moment=(utc(2026, 4, 4, 16, 10, 0), "Australia/Lord_Howe"))  # half-hour fold
@example(moment=(utc(2026, 11, 2, 9, 30, 0), LA))  # last_24_hours from the second 01:30
@example(moment=(utc(2025, 4, 6, 15, 0, 0), "Australia/Lord_Howe"))  # a 30-min part
def test_every_query_names_exactly_its_window(moment: tuple[datetime, str]) -> None:
    """Read as Flume reads them, the queries hold each window in whole buckets.

    Series start at or before the window, on a bucket edge, and end on one; sums
    start at a local midnight; all stay within Flume's limits.
    """
    now, tz = moment
    end = now.replace(second=0, microsecond=0)
    windows = usage_windows(now, tz)
    for stem in {window.field for window in windows} - {"yesterday", "last_month"}:
        parts = [window for window in windows if window.field == stem]
        assert parts[-1].end == end  # a series in parts tiles its span (issue 13)
        assert all(a.end == b.start for a, b in itertools.pairwise(parts))
    for window in windows:
        query = window.query
        if query["bucket"] == "MIN":  # at most 24 hours per MIN series (§5.3)
            assert window.end - (window.first_bucket or window.start) <= 24 * HOUR
        assert window.start <= end
        assert len(window.query) == len(set(window.query))
        if window.first_bucket is None:  # calendar: one SUM from a local midnight
            assert fold0(query["since_datetime"], tz) == window.start
            until = fold0(query["until_datetime"], tz)
            assert window.start <= until <= end
            assert end - window.start <= timedelta(days=366)
            continue
        step = window.step * MINUTE
        assert fold0(query["since_datetime"], tz) == window.first_bucket
        assert 1 <= window.step <= 100
        assert (window.start - window.first_bucket) % step == timedelta(0)
        assert (window.end - window.first_bucket) % step == timedelta(0)
        assert window.start - window.first_bucket <= 2 * HOUR
        if "until_datetime" in query:
            assert fold0(query["until_datetime"], tz) == window.end - MINUTE


def behind(now: datetime, minutes: int) -> datetime:
    """The meter's `through`, `minutes` before the start of now's minute."""
    return now.replace(second=0, microsecond=0) - minutes * MINUTE


NOW = utc(2026, 3, 10, 18, 30, 15)


def by_id_counted(
    now: datetime, counted: datetime, tz: str = LA, minutes: int = 15
) -> dict[str, Window]:
    windows = usage_windows(now, tz, minutes=minutes, counted_through=counted)
    return {w.request_id: w for w in windows}


@pytest.mark.parametrize(
    ("back", "length"), [(-5, 30), (0, 30), (5, 30), (15, 30), (100, 150), (1440, 1440)]
)
def test_the_minutes_series_reaches_back_to_the_counted_minute(
    back: int, length: int
) -> None:
    """The series reaches the local hour holding counted_through, no backfill yet.

    NOW is 11:30 PDT: the counted minutes of the hour are read again (late data).
    """
    windows = by_id_counted(NOW, behind(NOW, back))
    assert windows["minutes"].end - windows["minutes"].start == length * MINUTE
    assert "backfill" not in windows


@pytest.mark.parametrize(
    ("back", "head", "hours"),
    [(1441, 31, 0), (1500, 30, 1), (1501, 31, 1), (1531, 1, 2)],
)
def test_a_meter_a_day_behind_gets_minutes_to_the_hour_then_whole_hours(
    back: int, head: int, hours: int
) -> None:
    """Beyond 1440 minutes, minutes to the next local hour, then HR buckets.

    No MIN series is longer than 24 hours; the last hour may overlap the 1440-minute
    series, so no minute falls between.
    """
    counted = behind(NOW, back)
    windows = by_id_counted(NOW, counted)
    first, series = windows["backfill_minutes"], windows["minutes"]
    assert (first.start, first.end) == (counted, counted + head * MINUTE)
    assert (first.query["bucket"], first.step) == ("MIN", 1)
    assert series.end - series.start == 1440 * MINUTE
    if not hours:
        assert "backfill" not in windows
        assert first.start < series.start <= first.end
        return
    fill = windows["backfill"]
    assert (fill.start, fill.end) == (first.end, first.end + hours * HOUR)
    assert fill.start < series.start <= fill.end < series.start + HOUR
    assert fill.query["since_datetime"] == fill.start.astimezone(ZoneInfo(LA)).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    assert (fill.query["bucket"], "group_multiplier" in fill.query) == ("HR", False)
    assert (fill.first_bucket, fill.step) == (fill.start, 60)
    assert list(windows)[-1] == "backfill"  # the other windows keep their places


def test_a_long_outage_is_caught_up_31_days_per_batch() -> None:
    """Sixty days behind, one batch back-fills 37 minutes, then 743 whole hours."""
    counted = behind(NOW, 60 * 1440 + 7)
    windows = by_id_counted(NOW, counted)
    first, fill = windows["backfill_minutes"], windows["backfill"]
    assert first.start == counted
    assert fill.end - first.start <= BACKFILL_HOURS * HOUR == timedelta(days=31)
    assert fill.end - fill.start == (BACKFILL_HOURS - 1) * HOUR
    wall = (fill.end - MINUTE).astimezone(ZoneInfo(LA)).strftime("%Y-%m-%d %H:%M:%S")
    assert fill.query["until_datetime"] == wall
    points = [Point(None, 1.0)] * BACKFILL_HOURS  # one more than asked for
    assert len(buckets(fill, points)) == BACKFILL_HOURS - 1


def test_counted_through_in_the_repeated_hour_drops_the_first_occurrence() -> None:
    """Counted through the second 01:20 PST, the minutes are asked from the first.

    Flume reads the wall time as its first occurrence, an hour earlier: those
    buckets are placed by their labels and dropped; the hours start at 02:00 PST.
    """
    counted = utc(2026, 11, 1, 9, 20, 0)  # 01:20 PST, the second one
    windows = by_id_counted(counted + 2 * timedelta(days=1), counted)
    first, fill = windows["backfill_minutes"], windows["backfill"]
    assert first.query["since_datetime"] == "2026-11-01 01:20:00"
    assert (first.first_bucket, first.step) == (counted - HOUR, 1)
    pdt = [f"2026-11-01 01:{m:02}:00" for m in range(20, 60)]
    pst = [f"2026-11-01 01:{m:02}:00" for m in range(60)]
    points = [Point(label, float(k)) for k, label in enumerate(pdt + pst)]
    found = buckets(first, points)
    assert [start for start, _ in found] == [counted + k * MINUTE for k in range(40)]
    assert found[0][1] == 60.0  # the PST 01:20, the 61st bucket
    assert (fill.start, fill.query["since_datetime"]) == (
        counted + 40 * MINUTE,
        "2026-11-01 02:00:00",
    )


def test_counted_through_in_the_first_occurrence_needs_no_surplus() -> None:
    """Counted through the first 01:20 (PDT), the minutes start right there."""
    counted = utc(2026, 11, 1, 8, 20, 0)
    windows = by_id_counted(counted + 2 * timedelta(days=1), counted)
    first, fill = windows["backfill_minutes"], windows["backfill"]
    assert (first.first_bucket, first.end) == (counted, counted + 40 * MINUTE)
    # The hours start at the second 01:00, asked from the first: one surplus hour.
    assert (fill.start, fill.first_bucket) == (first.end, first.end - HOUR)


def test_a_half_hour_fall_back_backfills_from_the_next_hour() -> None:
    """On Lord Howe, counted through the second 01:40, minutes run to 02:00."""
    counted = utc(2026, 4, 4, 15, 10, 0)  # 01:40 +10:30, the second one
    now = counted + timedelta(days=3)
    windows = by_id_counted(now, counted, "Australia/Lord_Howe")
    first, fill = windows["backfill_minutes"], windows["backfill"]
    assert first.query["since_datetime"] == "2026-04-05 01:40:00"
    assert first.first_bucket == counted - timedelta(minutes=30)
    assert (first.end, fill.start) == (counted + 20 * MINUTE, counted + 20 * MINUTE)
    assert fill.query["since_datetime"] == "2026-04-05 02:00:00"
    assert fill.end - fill.start == 48 * HOUR


def test_counted_through_must_be_an_aware_whole_minute() -> None:
    """A naive or mid-minute `counted_through` is a programming error."""
    naive = datetime(2026, 3, 10, 18, 0)  # noqa: DTZ001 (the point)
    for counted, reason in ((naive, "aware"), (NOW, "whole minute")):
        with pytest.raises(ValueError, match=reason):
            usage_windows(NOW, LA, counted_through=counted)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(moment=moments(), back=st.integers(-10, 50 * 1440), short=st.integers(1, 60))
@example(
    moment=(utc(2026, 4, 4, 16, 10, 0), "Australia/Lord_Howe"), back=1500, short=15
)
@example(moment=(utc(2026, 11, 3, 9, 30, 0), LA), back=2890, short=15)
def test_the_meter_windows_hold_every_minute_since_counted_through(
    moment: tuple[datetime, str], back: int, short: int
) -> None:
    """`backfill_minutes`, `backfill` and `minutes` tile [counted_through, end).

    Unless the 31-day cap cuts the back-fill short, no minute lies between them.
    """
    now, tz = moment
    counted = behind(now, back)
    windows = by_id_counted(now, counted, tz, short)
    series = windows["minutes"]
    hour = counted.astimezone(ZoneInfo(tz)).replace(minute=0).astimezone(UTC)
    assert series.start == min(
        series.end - short * MINUTE, max(hour, series.end - 1440 * MINUTE)
    )
    first, fill = windows.get("backfill_minutes"), windows.get("backfill")
    if first is None and fill is None:
        assert counted >= series.end - 1440 * MINUTE
        return
    hour = counted  # where the hours start: counted_through, if on a local hour
    if first is not None:
        assert first.start == counted
        assert first.end - first.start < HOUR
        assert first.end - (first.first_bucket or first.start) <= 24 * HOUR
        hour = first.end
    assert hour.astimezone(ZoneInfo(tz)).minute == 0
    if fill is None:
        assert first is not None
        assert series.start <= first.end
        return
    assert fold0(fill.query["since_datetime"], tz) == fill.first_bucket
    assert fill.query["bucket"] == "HR"
    assert fill.start - fill.first_bucket in (timedelta(0), HOUR)  # a repeated hour
    assert fill.start == hour
    assert (fill.end - fill.start) % HOUR == timedelta(0)
    if "until_datetime" in fill.query:
        assert fold0(fill.query["until_datetime"], tz) == fill.end - MINUTE
    assert fill.end - counted <= BACKFILL_HOURS * HOUR
    if fill.end - counted <= (BACKFILL_HOURS - 1) * HOUR:
        assert fill.start < series.start <= fill.end < series.start + HOUR

"""The usage poll's pure parts: the zone, reading an answer, the newest flow."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from bridge.flume.windows import Window, usage_windows
from bridge.models import Device, Location, Point
from bridge.service.usage import FALLBACK_TZ, MINUTE, flow, read, zone_of

NOW = datetime(2026, 3, 10, 18, 30, 15, tzinfo=UTC)
END = NOW.replace(second=0)
TZ = "America/Los_Angeles"


def answer(windows: tuple[Window, ...]) -> dict[str, list[Point]]:
    """Flume's answer: a gallon in every series bucket, 2.5 in every sum."""
    found: dict[str, list[Point]] = {}
    for window in windows:
        if window.first_bucket is None:
            found[window.request_id] = [Point(None, 2.5)]
        else:
            count = (window.end - window.first_bucket) // (window.step * MINUTE)
            found[window.request_id] = [Point(None, 1.0)] * count
    return found


def test_the_zone_is_the_locations() -> None:
    """A sensor's windows use its location's time zone."""
    device = Device("1", 2, 7, Location(7, "Home", TZ))
    assert zone_of(device) == TZ


def test_without_a_location_the_zone_is_utc_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Flume giving no location: UTC windows, and the log says so."""
    assert zone_of(Device("1", 2, None, None)) == FALLBACK_TZ == "UTC"
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "device 1 has no location" in caplog.text


def test_read_sums_the_windows_and_spans_the_minutes() -> None:
    """Summed windows become values; the minutes series becomes one span a minute."""
    windows = usage_windows(NOW, TZ)
    values, spans = read(windows, answer(windows))
    assert values["today"] == 2.5
    assert values["last_60_min"] == 1.0  # one bucket of an hour
    assert set(values) == {
        "last_60_min", "last_24_hours", "today", "this_week", "this_month",
        "this_year", "yesterday", "last_month",
    }  # fmt: skip
    assert spans[-1] == (END - MINUTE, 1, 1.0)
    assert len(spans) == 15


def test_read_spans_the_backfill_by_the_hour() -> None:
    """A meter days behind: minutes to the hour, then hourly buckets, are spans too."""
    behind = END - timedelta(days=3)  # 11:30 PDT: 30 minutes to the next hour
    windows = usage_windows(NOW, TZ, counted_through=behind)
    _, spans = read(windows, answer(windows))
    hourly = [span for span in spans if span[1] == 60]
    assert hourly[0][0] == behind + 30 * MINUTE
    assert len([span for span in spans if span[1] == 1]) == 1440 + 30


def test_a_window_missing_from_the_answer_costs_only_its_field() -> None:
    """Flume leaving a query out leaves that value out; the others are read."""
    windows = usage_windows(NOW, TZ)
    partial = answer(windows)
    del partial["this_week"]
    values, spans = read(windows, partial)
    assert "this_week" not in values
    assert values["today"] == 2.5
    assert len(spans) == 15


def test_flow_is_the_newest_settled_minute() -> None:
    """The flow is the span just before the horizon; a group or none is unknown."""
    horizon = END - 3 * MINUTE
    newest = horizon - MINUTE
    spans = [(newest - MINUTE, 1, 0.25), (newest, 1, 0.5)]
    assert flow(spans, horizon) == 0.5
    assert flow([(newest, 60, 9.0)], horizon) is None
    assert flow(spans[:1], horizon) is None

"""Buckets placed by their labels: DST days in LA and Berlin, DESC, one per minute.

The answers come from the simulator's query engine (an independent reading of the
API) under each of its readings, over a made-up water use in which every minute
holds a different volume, so a bucket placed a minute off shows in the sum.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bridge.errors import FlumeProtocolError
from bridge.flume.buckets import buckets, value
from bridge.flume.placement import instants, placed
from bridge.flume.reading import read
from bridge.flume.windows import Window, queries, usage_windows
from bridge.models import Point
from bridge.simulator.behaviour import Behaviour
from bridge.simulator.query import QueryContext, run_queries
from bridge.simulator.timebase import to_minutes
from tests.support.clock import utc

LA, BERLIN = ZoneInfo("America/Los_Angeles"), ZoneInfo("Europe/Berlin")
MINUTE = timedelta(minutes=1)
READINGS = {
    "documented": Behaviour(),
    "ungrouped": Behaviour(reading="ungrouped"),
    "desc": Behaviour(sort="desc"),
    "ungrouped desc": Behaviour(reading="ungrouped", sort="desc"),
}
# Moments within 90 minutes after a change: the trailing windows cross it.
MOMENTS = {
    "LA fall-back, in the repeated hour": (LA.key, utc(2026, 11, 1, 9, 20, 0)),
    "LA fall-back, after it": (LA.key, utc(2026, 11, 1, 10, 10, 0)),
    "LA spring-forward": (LA.key, utc(2026, 3, 8, 10, 40, 0)),
    # last_24_hours from the second 01:30: 25 hours asked, in two parts.
    "LA a day after the fall-back": (LA.key, utc(2026, 11, 2, 9, 30, 0)),
    "Berlin fall-back, in the repeated hour": (BERLIN.key, utc(2026, 10, 25, 1, 30, 0)),
    "Berlin fall-back, after it": (BERLIN.key, utc(2026, 10, 25, 2, 5, 0)),
    "Berlin spring-forward": (BERLIN.key, utc(2026, 3, 29, 1, 50, 0)),
}


def water(minute: float) -> float:
    """Gallons from the epoch to an epoch minute: minute m holds m % 7 + 1."""
    m = int(minute)
    r = m % 7
    return float(m + 21 * (m // 7) + r * (r - 1) // 2)


def truth(start: datetime, end: datetime) -> float:
    return water(to_minutes(end)) - water(to_minutes(start))


def answer(
    windows: tuple[Window, ...], now: datetime, tz: str, behaviour: Behaviour
) -> dict[str, list[Point]]:
    context = QueryContext(
        tz=tz,
        now=now,
        latency_minutes=0,
        cumulative=lambda edges: [water(edge) for edge in edges],
        behaviour=behaviour,
    )
    found = run_queries({"queries": queries(windows)}, context)
    return {
        rid: [Point(p.get("datetime"), float(p["value"])) for p in points]  # type: ignore[arg-type]  # the simulator's JSON values
        for rid, points in found.items()
    }


@pytest.mark.parametrize("reading", list(READINGS))
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_every_series_window_sums_to_the_truth_in_every_reading(
    moment: str, reading: str
) -> None:
    """Across a DST change, ASC or DESC, grouped or not: exact sums, each minute once.

    The two groups of a repeated hour, both labelled 01:00, are told apart by the
    order the minutes series shows.
    """
    tz, now = MOMENTS[moment]
    windows = usage_windows(now, tz, minutes=90)
    found = read(windows, answer(windows, now, tz, READINGS[reading]))
    assert found.problems == {}
    if moment == "LA a day after the fall-back":
        assert [w.request_id for w in windows][2:4] == [
            "last_24_hours",
            "last_24_hours#2",
        ]
    for name in ("last_60_min", "last_24_hours"):  # series summed here, maybe in parts
        parts = [window for window in windows if window.field == name]
        wanted = truth(parts[0].start, parts[-1].end)
        assert found.values[name] == wanted, name
    minutes = windows[0]
    assert [(start, n) for start, n, _ in found.spans] == [
        (minutes.start + k * MINUTE, 1) for k in range(90)
    ]
    assert all(g == truth(s, s + MINUTE) for s, _, g in found.spans)


def test_a_label_names_one_instant_two_at_fall_back_none_in_the_gap() -> None:
    """01:30 on the LA fall-back night is PDT then PST; 02:30 in spring is none."""
    assert instants("2026-11-01 01:30:00", LA) == (
        utc(2026, 11, 1, 8, 30, 0),
        utc(2026, 11, 1, 9, 30, 0),
    )
    assert instants("2026-03-08 02:30:00", LA) == ()
    assert instants("2026-10-25 02:30:00", BERLIN) == (
        utc(2026, 10, 25, 0, 30, 0),
        utc(2026, 10, 25, 1, 30, 0),
    )
    assert instants("2026-06-01 12:00:00", BERLIN) == (utc(2026, 6, 1, 10, 0, 0),)
    assert instants("noon", BERLIN) == ()


def test_the_repeated_hour_in_groups_is_placed_by_order() -> None:
    """Two buckets labelled 01:00: ASC they are PDT then PST; DESC the other way."""
    labels = ["2026-11-01 01:00:00", "2026-11-01 01:00:00"]
    first = utc(2026, 11, 1, 8, 0, 0)
    pdt, pst = first, first + timedelta(hours=1)
    assert placed(labels, LA, first, expected=False) == ([pdt, pst], False)
    assert placed(labels, LA, first, expected=True) == ([pst, pdt], True)


def test_the_order_is_told_by_what_can_be_placed() -> None:
    """Expecting ASC, a DESC answer still places: the ASC reading runs backwards."""
    labels = [f"2026-06-01 12:0{m}:00" for m in (3, 2, 1)]
    first = utc(2026, 6, 1, 10, 1, 0)
    starts, newest_first = placed(labels, BERLIN, first, expected=False)
    assert newest_first is True
    assert starts == [first + 2 * MINUTE, first + MINUTE, first]


NOW = utc(2026, 6, 1, 10, 30, 20)


def minutes_window() -> Window:
    return usage_windows(NOW, "Europe/Berlin", minutes=3)[0]


def test_an_exact_repeat_is_dropped_a_conflicting_one_is_an_error() -> None:
    """The same bucket twice is one bucket; the same label with two values is unsure."""
    window = minutes_window()
    labels = ["2026-06-01 12:27:00", "2026-06-01 12:28:00", "2026-06-01 12:29:00"]
    points = [Point(label, 1.0) for label in labels]
    repeated = [*points[:2], points[1], points[2]]
    assert buckets(window, repeated) == buckets(window, points)
    conflicting = [*points[:2], Point(labels[1], 5.0), points[2]]
    with pytest.raises(FlumeProtocolError, match="cannot be placed"):
        buckets(window, conflicting)


def test_missing_labels_are_placed_by_position_only_when_all_are_missing() -> None:
    """No labels at all: by position (the order is known); some missing: unsure."""
    window = minutes_window()
    unlabelled = [Point(None, float(k)) for k in range(3)]
    assert [g for _, g in buckets(window, unlabelled)] == [0.0, 1.0, 2.0]
    assert value(window, unlabelled) == 3.0
    mixed = [Point("2026-06-01 12:27:00", 0.0), Point(None, 1.0), Point(None, 2.0)]
    with pytest.raises(FlumeProtocolError, match="bucket 1"):
        buckets(window, mixed)


def test_a_label_in_the_spring_gap_cannot_be_placed() -> None:
    """02:30 on the LA spring-forward night names no instant: the series is unsure."""
    now = utc(2026, 3, 8, 10, 32, 0)  # 03:32 PDT
    window = usage_windows(now, "America/Los_Angeles", minutes=2)[0]
    points = [Point("2026-03-08 02:30:00", 1.0), Point("2026-03-08 03:31:00", 1.0)]
    with pytest.raises(FlumeProtocolError, match="02:30:00"):
        buckets(window, points)


def test_instants_are_utc() -> None:
    """Every instant a label names is aware UTC."""
    assert all(t.tzinfo is UTC for t in instants("2026-11-01 01:30:00", LA))

"""The simulator's query language: validation, alignment, DST, latency, operations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from bridge.simulator.query import QueryContext, QueryError, run_queries

LA = "America/Los_Angeles"
BERLIN = "Europe/Berlin"
LATER = datetime(2030, 1, 1, tzinfo=UTC)


def one_gallon_a_minute(instants: Sequence[float]) -> list[float]:
    # Constant flow: a bucket's value is its length in real minutes.
    return [float(minute) for minute in instants]


def run(
    *queries: dict[str, Any],
    tz: str = LA,
    now: datetime = LATER,
    latency: float = 0.0,
) -> dict[str, list[dict[str, object]]]:
    context = QueryContext(tz, now, latency, one_gallon_a_minute)
    return run_queries({"queries": list(queries)}, context)


def series(
    bucket: str,
    since: str,
    until: str | None = None,
    *,
    tz: str = LA,
    now: datetime = LATER,
    latency: float = 0.0,
    **options: object,
) -> list[dict[str, object]]:
    query = {"request_id": "q", "bucket": bucket, "since_datetime": since, **options}
    if until is not None:
        query["until_datetime"] = until
    return run(query, tz=tz, now=now, latency=latency)["q"]


def labels(result: list[dict[str, object]]) -> list[str]:
    return [str(item["datetime"]) for item in result]


def values(result: list[dict[str, object]]) -> list[object]:
    return [item["value"] for item in result]


def details(body: object) -> list[str]:
    with pytest.raises(QueryError) as caught:
        run_queries(body, QueryContext(LA, LATER, 0.0, one_gallon_a_minute))
    return caught.value.details


def good(**changes: object) -> dict[str, object]:
    query: dict[str, object] = {
        "request_id": "r",
        "bucket": "DAY",
        "since_datetime": "2024-06-01 00:00:00",
        "until_datetime": "2024-06-02 00:00:00",
    }
    query.update(changes)
    return {key: value for key, value in query.items() if value is not None}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (["not", "an", "object"], "must be a JSON object"),
        ({}, "queries must be a non-empty list"),
        ({"queries": "today"}, "queries must be a non-empty list"),
        ({"queries": []}, "queries must be a non-empty list"),
        ({"queries": ["today"]}, "queries[0] must be an object"),
        ({"queries": [good(request_id=None)]}, "request_id is required"),
        ({"queries": [good(request_id="")]}, "request_id is required"),
        ({"queries": [good(request_id=7)]}, "request_id is required"),
        ({"queries": [good(bucket=None)]}, "bucket must be one of MIN, HR, DAY"),
        ({"queries": [good(bucket="WEEK")]}, "bucket must be one of MIN, HR, DAY"),
        ({"queries": [good(since_datetime=None)]}, "since_datetime must be a local"),
        ({"queries": [good(since_datetime="2024-06-01")]}, "since_datetime must be"),
        ({"queries": [good(since_datetime="2024-06-01T00:00:00")]}, "since_datetime"),
        ({"queries": [good(since_datetime="1800-06-01 00:00:00")]}, "in the years"),
        ({"queries": [good(until_datetime="tomorrow")]}, "until_datetime must be"),
        ({"queries": [good(until_datetime="2024-05-31 23:59:59")]}, "not be before"),
        (
            {"queries": [good(until_datetime="2025-06-01 00:00:01")]},
            "must not exceed one year",
        ),
        (
            {"queries": [good(group_multiplier=0)]},
            "group_multiplier must be an integer",
        ),
        ({"queries": [good(group_multiplier=101)]}, "from 1 to 100"),
        ({"queries": [good(group_multiplier="x")]}, "group_multiplier must be"),
        ({"queries": [good(group_multiplier="-3")]}, "group_multiplier must be"),
        ({"queries": [good(group_multiplier=2.5)]}, "group_multiplier must be"),
        ({"queries": [good(group_multiplier=True)]}, "group_multiplier must be"),
        ({"queries": [good(operation="MEDIAN")]}, "operation must be one of SUM, AVG"),
        ({"queries": [good(units="GALLON")]}, "units must be one of GALLONS, LITERS"),
        ({"queries": [good(sort_direction="UP")]}, "sort_direction must be one of ASC"),
        ({"queries": [good(tz="Mars/Olympus_Mons")]}, "tz must be an IANA time zone"),
        ({"queries": [good(tz=3)]}, "tz must be an IANA time zone"),
        (
            {"queries": [good(), good()]},
            "request_id 'r' is used by more than one query",
        ),
    ],
)
def test_each_invalid_query_is_a_detailed_validation_error(
    body: object, expected: str
) -> None:
    """Every malformed part of a query body is reported in a `detailed` line."""
    found = details(body)
    assert any(expected in line for line in found), found


def test_all_problems_are_reported_together_and_name_their_query() -> None:
    """Validation collects every problem of every query, labelled by request_id."""
    found = details(
        {
            "queries": [
                good(request_id="a", bucket="X", units="PINTS"),
                good(request_id="b"),
            ]
        }
        | {"ignored": True}
    ) + details({"queries": [good(), good(request_id="c", operation="NOPE")]})
    assert found == [
        "queries[0] (a): bucket must be one of MIN, HR, DAY, MON, YR",
        "queries[0] (a): units must be one of"
        " GALLONS, LITERS, CUBIC_FEET, CUBIC_METERS",
        "queries[1] (c): operation must be one of SUM, AVG, MIN, MAX, CNT",
    ]


def test_a_window_of_exactly_one_calendar_year_is_accepted() -> None:
    """A window of exactly a year is allowed; from 29 February it ends 28 February."""
    assert len(series("DAY", "2023-06-01 00:00:00", "2024-06-01 00:00:00")) == 367
    assert len(series("MON", "2024-02-29 00:00:00", "2025-02-28 00:00:00")) == 13
    leap = good(
        since_datetime="2024-02-29 00:00:00", until_datetime="2025-02-28 00:00:01"
    )
    assert details({"queries": [leap]})


def test_documented_month_example_with_group_multiplier_three() -> None:
    """Flume's example: MON from 2016-04-04 01:00 in threes gives Apr, Jul and Oct."""
    now = datetime(2016, 11, 15, 12, tzinfo=UTC)
    result = series("MON", "2016-04-04 01:00:00", group_multiplier=3, now=now)
    assert labels(result) == [
        "2016-04-01 00:00:00",
        "2016-07-01 00:00:00",
        "2016-10-01 00:00:00",
    ]
    # Apr-Jun 91 days, Jul-Sep 92; the last bucket holds the water up to now.
    assert values(result)[:2] == [91 * 1440.0, 92 * 1440.0]


def test_documented_day_example_includes_the_bucket_holding_until() -> None:
    """Flume's example: DAY from 04-04 01:00 to 04-07 01:00 gives days 04-04..04-07."""
    result = series("DAY", "2016-04-04 01:00:00", "2016-04-07 01:00:00")
    assert labels(result) == [f"2016-04-0{d} 00:00:00" for d in (4, 5, 6, 7)]
    assert values(result) == [1440.0] * 4


def test_group_multiplier_accepts_a_digit_string() -> None:
    """group_multiplier "2" joins pairs of hours like the integer 2."""
    result = series(
        "HR", "2024-06-01 10:30:00", "2024-06-01 13:00:00", group_multiplier="2"
    )
    assert labels(result) == ["2024-06-01 10:00:00", "2024-06-01 12:00:00"]
    assert values(result) == [120.0, 120.0]


def test_min_buckets_start_at_the_minute_holding_since() -> None:
    """Seconds in since round down to the minute; until's minute is the last bucket."""
    result = series("MIN", "2024-06-01 10:00:30", "2024-06-01 10:02:00")
    assert labels(result) == [f"2024-06-01 10:0{m}:00" for m in (0, 1, 2)]


def test_year_buckets_align_to_the_first_of_january() -> None:
    """YR buckets start on 1 January local time, a leap year being 366 days long."""
    result = series("YR", "2024-03-05 08:00:00", "2024-12-31 23:00:00")
    assert result == [{"datetime": "2024-01-01 00:00:00", "value": 366 * 1440.0}]


@pytest.mark.parametrize(
    ("tz", "day", "minutes"),
    [
        (LA, "2024-03-10", 23 * 60),
        (LA, "2024-11-03", 25 * 60),
        (BERLIN, "2024-03-31", 23 * 60),
        (BERLIN, "2024-10-27", 25 * 60),
        (BERLIN, "2024-07-01", 24 * 60),
    ],
)
def test_dst_days_have_23_or_25_hours_in_every_bucket_size(
    tz: str, day: str, minutes: int
) -> None:
    """A DST day is one DAY bucket of 23 or 25 hours, and as many HR and MIN buckets."""
    since, until = f"{day} 00:00:00", f"{day} 23:59:00"
    assert values(series("DAY", since, until, tz=tz)) == [float(minutes)]
    assert len(series("HR", since, until, tz=tz)) == minutes // 60
    assert len(series("MIN", since, until, tz=tz)) == minutes


def test_fall_back_repeats_an_hour_of_labels_and_spring_forward_skips_one() -> None:
    """HR buckets carry wall time: 01:00 twice in fall, no 02:00 in spring."""
    fall = labels(series("HR", "2024-11-03 00:00:00", "2024-11-03 03:00:00"))
    spring = labels(series("HR", "2024-03-10 00:00:00", "2024-03-10 04:00:00"))
    assert [label[11:13] for label in fall] == ["00", "01", "01", "02", "03"]
    assert [label[11:13] for label in spring] == ["00", "01", "03", "04"]


def test_ambiguous_and_skipped_local_times_resolve_like_fold_zero() -> None:
    """A repeated time is its first occurrence; a skipped one keeps the old offset."""
    repeated = series("HR", "2024-11-03 01:30:00", "2024-11-03 02:00:00")
    assert labels(repeated) == [
        "2024-11-03 01:00:00",
        "2024-11-03 01:00:00",
        "2024-11-03 02:00:00",
    ]
    # 02:30 does not exist; read as PST it is 03:30 PDT.
    skipped = series("MIN", "2024-03-10 02:30:00", "2024-03-10 03:31:00")
    assert labels(skipped) == ["2024-03-10 03:30:00", "2024-03-10 03:31:00"]


def test_tz_in_the_query_overrides_the_location_zone() -> None:
    """With tz set, days are Berlin days even for a Los Angeles device."""
    result = series("DAY", "2024-03-31 00:00:00", "2024-03-31 12:00:00", tz=LA)
    berlin = run(
        {
            "request_id": "q",
            "bucket": "DAY",
            "since_datetime": "2024-03-31 00:00:00",
            "until_datetime": "2024-03-31 12:00:00",
            "tz": BERLIN,
        }
    )["q"]
    assert values(result) == [1440.0]
    assert values(berlin) == [1380.0]


@pytest.mark.parametrize(
    ("operation", "expected"),
    [("SUM", 5.0), ("AVG", 5 / 3), ("MIN", 0.0), ("MAX", 3.0), ("CNT", 3)],
)
def test_operation_collapses_the_series_to_one_value(
    operation: str, expected: float
) -> None:
    """SUM, AVG, MIN, MAX and CNT reduce the bucket values to one undated value."""
    # Three-minute buckets; latency leaves water visible up to 10:03.
    now = datetime(2024, 6, 1, 17, 6, 30, tzinfo=UTC)  # 10:06:30 PDT
    query = {
        "request_id": "q",
        "bucket": "MIN",
        "group_multiplier": 3,
        "since_datetime": "2024-06-01 09:58:00",
        "until_datetime": "2024-06-01 10:05:00",
    }
    plain = run(query, now=now, latency=3.5)["q"]
    collapsed = run(query | {"operation": operation}, now=now, latency=3.5)["q"]
    assert values(plain) == [3.0, 2.0, 0.0]
    assert collapsed == [{"value": expected}]


def test_operation_on_an_empty_series_stays_empty() -> None:
    """A window wholly in the future has no buckets, with or without an operation."""
    now = datetime(2024, 6, 1, 12, tzinfo=UTC)
    window = ("DAY", "2024-06-03 00:00:00", "2024-06-04 00:00:00")
    assert series(*window, now=now) == []
    assert series(*window, now=now, operation="SUM") == []
    assert series(*window, now=now, operation="CNT") == []


@pytest.mark.parametrize(
    ("units", "factor"),
    [
        ("GALLONS", 1.0),
        ("LITERS", 3.785411784),
        ("CUBIC_FEET", 0.13368055555555556),
        ("CUBIC_METERS", 0.003785411784),
    ],
)
def test_units_convert_from_us_gallons(units: str, factor: float) -> None:
    """Values come in the requested unit; CNT stays a count."""
    window = ("DAY", "2024-06-01 00:00:00", "2024-06-01 00:00:00")
    assert values(series(*window, units=units)) == [
        pytest.approx(1440 * factor, rel=1e-12)
    ]
    assert series(*window, units=units, operation="CNT") == [{"value": 1}]


def test_sort_direction_desc_reverses_the_series() -> None:
    """DESC lists the newest bucket first."""
    window = ("DAY", "2024-06-01 00:00:00", "2024-06-03 00:00:00")
    ascending = series(*window)
    assert series(*window, sort_direction="DESC") == ascending[::-1]
    assert labels(ascending)[0] == "2024-06-01 00:00:00"


def test_until_defaults_to_now_and_future_buckets_are_left_out() -> None:
    """Without until the series runs to now; buckets starting after now never appear."""
    now = datetime(2024, 6, 1, 17, 30, 20, tzinfo=UTC)  # 10:30:20 PDT
    open_ended = series("HR", "2024-06-01 08:15:00", now=now)
    to_tomorrow = series("HR", "2024-06-01 08:15:00", "2024-06-02 08:00:00", now=now)
    assert labels(open_ended) == labels(to_tomorrow)
    assert labels(open_ended)[-1] == "2024-06-01 10:00:00"
    assert series("HR", "2024-06-01 11:00:00", now=now) == []


def test_latency_hides_the_newest_minutes() -> None:
    """With 2 minutes of latency at 10:05:30, minutes from 10:03 on read zero."""
    now = datetime(2024, 6, 1, 17, 5, 30, tzinfo=UTC)
    result = series(
        "MIN", "2024-06-01 10:00:00", "2024-06-01 10:10:00", now=now, latency=2.0
    )
    assert labels(result)[-1] == "2024-06-01 10:05:00"
    assert values(result) == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]


def test_several_queries_answer_by_request_id_and_ignore_extra_keys() -> None:
    """Each query answers under its request_id; types, device_id, unknown keys pass."""
    extra = {"types": ["all"], "device_id": ["1"], "colour": "blue"}
    answer = run(
        good(request_id="a", **extra),
        good(request_id="b", operation="SUM"),
    )
    assert set(answer) == {"a", "b"}
    assert answer["b"] == [{"value": 2880.0}]

"""Other readings of the query language: ungrouped buckets, forced order, limits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.simulator.account import SimConfig
from bridge.simulator.behaviour import Behaviour, BehaviourBox, BehaviourError
from bridge.simulator.clock import SimClock
from bridge.simulator.model import Model
from bridge.simulator.query import QueryError

FORMAT = "%Y-%m-%d %H:%M:%S"
CLOCK = SimClock(datetime(2024, 1, 1, tzinfo=UTC), speed=0.0)
MODEL = Model(SimConfig(seed=7, timezones=("Europe/Berlin",), leak=True), CLOCK.now)
CLOCK.set(datetime(2027, 1, 1, tzinfo=UTC))
DEVICE = MODEL.account.sensors[0]
UNGROUPED = Behaviour(reading="ungrouped")
DAYS = st.one_of(
    st.sampled_from([date(2024, 3, 31), date(2024, 10, 27)]),  # Berlin's DST days
    st.dates(date(2024, 1, 1), date(2026, 12, 1)),
)


def ask(behaviour: Behaviour, *queries: dict[str, Any]) -> dict[str, Any]:
    body = {"queries": [{"request_id": f"q{i}", **q} for i, q in enumerate(queries)]}
    return MODEL.query(DEVICE, body, behaviour)


def window(day: date, offset: int, length: int) -> dict[str, str]:
    since = datetime(day.year, day.month, day.day) + timedelta(minutes=offset)  # noqa: DTZ001 (wall time)
    until = since + timedelta(minutes=length)
    return {
        "since_datetime": f"{since:{FORMAT}}",
        "until_datetime": f"{until:{FORMAT}}",
    }


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(
    day=DAYS,
    offset=st.integers(0, 1439),
    length=st.integers(0, 2 * 1440),
    bucket=st.sampled_from(["MIN", "HR", "DAY", "MON"]),
    group=st.integers(2, 100),
)
def test_ungrouped_answers_what_group_one_answers(
    day: date, offset: int, length: int, bucket: str, group: int
) -> None:
    """Ignoring group_multiplier gives the group-1 series: same labels, same values."""
    span = window(day, offset, length)
    grouped = {"bucket": bucket, "group_multiplier": group, **span}
    single = {"bucket": bucket, "group_multiplier": 1, **span}
    ignored = ask(UNGROUPED, grouped, {**grouped, "operation": "SUM"})
    documented = ask(Behaviour(), single, {**single, "operation": "SUM"})
    assert ignored == documented
    assert len(ask(Behaviour(), grouped)["q0"]) <= len(documented["q0"])


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    day=DAYS,
    length=st.integers(1, 3 * 1440),
    bucket=st.sampled_from(["MIN", "HR", "DAY"]),
    asked=st.sampled_from(["ASC", "DESC"]),
)
def test_a_forced_order_only_reorders(
    day: date, length: int, bucket: str, asked: str
) -> None:
    """Sorts "desc" and "asc" give the same buckets in that order, whatever is asked."""
    query = {"bucket": bucket, "sort_direction": asked, **window(day, 0, length)}
    ascending = ask(Behaviour(), {**query, "sort_direction": "ASC"})["q0"]
    assert ask(Behaviour(sort="desc"), query)["q0"] == ascending[::-1]
    assert ask(Behaviour(sort="asc"), query)["q0"] == ascending
    expected = ascending[::-1] if asked == "DESC" else ascending
    assert ask(Behaviour(sort="asked"), query)["q0"] == expected


def minute_window(hours: float) -> dict[str, str]:
    since = datetime(2026, 6, 1, 8, 0)  # noqa: DTZ001 (wall time)
    until = since + timedelta(hours=hours)
    return {
        "bucket": "MIN",
        "since_datetime": f"{since:{FORMAT}}",
        "until_datetime": f"{until:{FORMAT}}",
        "operation": "SUM",
    }


def test_limits_are_off_by_default() -> None:
    """Twelve queries and a three-day MIN window pass under the documented reading."""
    answer = ask(Behaviour(), *[minute_window(72)] * 12)
    assert len(answer) == 12


def test_the_query_count_limit_names_itself() -> None:
    """With max_queries 10, ten pass and eleven are refused with the limit named."""
    limited = Behaviour(max_queries=10)
    assert len(ask(limited, *[minute_window(1)] * 10)) == 10
    with pytest.raises(QueryError) as caught:
        ask(limited, *[minute_window(1)] * 11)
    assert caught.value.details == ["queries holds 11 queries; at most 10 are allowed"]


def test_the_minute_window_limit_names_itself() -> None:
    """With max_min_hours 24, 24 h of MIN passes; a minute more, or open-ended, not."""
    limited = Behaviour(max_min_hours=24)
    assert len(ask(limited, minute_window(24), {**minute_window(72), "bucket": "HR"}))
    with pytest.raises(QueryError) as caught:
        ask(limited, minute_window(24 + 1 / 60))
    assert caught.value.details == ["q0: a MIN window may span at most 24 hours"]
    open_ended = {k: v for k, v in minute_window(1).items() if k != "until_datetime"}
    with pytest.raises(QueryError):
        ask(limited, open_ended)  # until defaults to now, years later


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"reading": "grouped"}, "reading must be one of documented, ungrouped"),
        ({"sort": "DESC"}, "sort must be one of asked, asc, desc"),
        ({"rate_headers": "no"}, "rate_headers must be true or false"),
        ({"other_client_per_hour": -1}, "other_client_per_hour must be an integer"),
        ({"max_queries": 0}, "max_queries must be an integer from 1"),
        ({"max_min_hours": 1.5}, "max_min_hours must be an integer"),
        ({"speed": 2}, "unknown setting(s): speed"),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(
    changes: dict[str, object], message: str
) -> None:
    """A bad value or name raises with a message and leaves the settings as they are."""
    box = BehaviourBox(Behaviour())
    with pytest.raises(BehaviourError) as caught:
        box.update(changes)
    assert str(caught.value).startswith(message)
    assert box.get() == Behaviour()


def test_settings_change_only_what_is_named() -> None:
    """An update keeps the other settings; null lifts a limit."""
    box = BehaviourBox(Behaviour(max_queries=10, sort="desc"))
    assert box.update({"max_queries": None}) == Behaviour(sort="desc")

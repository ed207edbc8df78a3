"""The planner: cadences from the budget and the sensors, in priority order."""

from __future__ import annotations

import functools
import itertools
import math

import pytest

from bridge.flume.planner import HOUR, Plan, duration
from bridge.flume.planner import plan as make_plan

BUDGETS = range(1, 121)
SENSORS = range(1, 21)
ALL = list(itertools.product(BUDGETS, SENSORS))
plan = functools.cache(make_plan)  # the exhaustive checks ask for each plan often


def intervals(p: Plan) -> tuple[int, int, int, int]:
    return (p.usage_interval, p.leak_interval, p.device_interval, p.alert_interval)


@pytest.mark.parametrize(
    ("sensors", "expected"),
    [
        (1, (60, 300, 900, 1200)),
        (2, (106, 530, 1590, 2120)),
        (4, (212, 1060, 3180, 4240)),
        (8, (400, 2000, 6000, 8000)),
    ],
)
def test_the_default_budget_plans(sensors: int, expected: tuple[int, ...]) -> None:
    """At the default 100/h, 1, 2, 4 and 8 sensors get these intervals in seconds."""
    assert intervals(plan(100, sensors)) == expected


def test_one_sensor_at_the_default_budget_queries_usage_every_minute() -> None:
    """With one sensor at 100/h the usage query runs every 60 s, on time."""
    p = plan(100, 1)
    assert p.usage_interval == 60
    assert p.fits


def test_every_plan_keeps_within_its_budget() -> None:
    """For budgets 1-120 and 1-20 sensors, the mean load with the reserve fits."""
    for per_hour, sensors in ALL:
        p = plan(per_hour, sensors)
        assert p.requests_per_hour <= per_hour, p.describe()


def test_plans_whose_jobs_all_run_hourly_fit_any_rolling_hour() -> None:
    """When every job runs within the hour, its worst rolling hour fits, with spare."""
    for per_hour, sensors in ALL:
        p = plan(per_hour, sensors)
        if max(intervals(p)) <= HOUR:
            assert p.fits
            assert p.peak_per_hour <= per_hour - (per_hour + 10) // 20


def test_lower_priorities_never_run_more_often() -> None:
    """Usage runs at least as often as leaks, leaks as devices, devices as alerts."""
    for per_hour, sensors in ALL:
        found = intervals(plan(per_hour, sensors))
        assert list(found) == sorted(found)
        assert found[0] >= 60


def test_more_budget_never_slows_a_job_and_more_sensors_never_speed_one_up() -> None:
    """Intervals fall (or stay) as the budget grows and grow as sensors are added."""
    for per_hour, sensors in ALL:
        here = intervals(plan(per_hour, sensors))
        if per_hour < 120:
            richer = intervals(plan(per_hour + 1, sensors))
            assert all(a >= b for a, b in zip(here, richer, strict=True))
        if sensors < 20:
            busier = intervals(plan(per_hour, sensors + 1))
            assert all(a <= b for a, b in zip(here, busier, strict=True))


def test_the_usage_interval_is_the_shortest_that_fits() -> None:
    """A second less on the usage interval would not fit the same plan rules."""
    for per_hour, sensors in ALL:
        p = plan(per_hour, sensors)
        if p.usage_interval > 60 and max(intervals(p)) <= HOUR:
            faster = plan_with_usage(p, p.usage_interval - 1)
            assert faster.peak_per_hour > per_hour - (per_hour + 10) // 20


def plan_with_usage(p: Plan, usage: int) -> Plan:
    """The plan's rules with another usage interval."""
    return Plan(
        p.per_hour,
        p.sensors,
        p.token_reserve,
        usage,
        max(300, 5 * usage),
        max(900, 15 * usage),
        max(1200, 20 * usage),
    )


def test_tokens_keep_two_requests_from_a_budget_of_eight() -> None:
    """The token reserve is 0 below 4/h, 1 below 8/h and 2 from there."""
    assert [plan(b, 1).token_reserve for b in (1, 3, 4, 7, 8, 120)] == [
        0,
        0,
        1,
        1,
        2,
        2,
    ]


def test_cadences_count_runs_and_requests() -> None:
    """Per-sensor jobs run once per sensor; device and alert polls cost two requests."""
    cadences = {c.name: c for c in plan(100, 3).cadences()}
    assert [(c.runs, c.requests) for c in cadences.values()] == [
        (3, 1),
        (3, 1),
        (1, 2),
        (1, 2),
    ]
    usage = cadences["usage"]
    assert usage.peak == 3 * math.ceil(HOUR / usage.interval)


def test_describe_says_the_plan_in_one_line() -> None:
    """describe() names every cadence, the reserve and the worst hour."""
    assert plan(100, 1).describe() == (
        "1 sensor at 100 requests/hour: usage every 60 s, leaks every 5 min, "
        "devices every 15 min, alerts every 20 min; 2 kept for tokens; "
        "at most 88 requests in any hour"
    )


def test_describe_warns_when_calls_may_wait() -> None:
    """A budget too small for hourly runs says that some calls may wait."""
    text = plan(10, 8).describe()
    assert text.startswith("8 sensors at 10 requests/hour: usage every 84 min 18 s")
    assert "may wait for the budget" in text
    assert "\n" not in text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (60, "60 s"),
        (119, "119 s"),
        (120, "2 min"),
        (1650, "27 min 30 s"),
        (7199, "119 min 59 s"),
        (7200, "2 h"),
        (6120 + 3600, "2 h 42 min"),
    ],
)
def test_duration_reads_short(seconds: int, text: str) -> None:
    """Durations read in seconds, minutes or hours as they grow."""
    assert duration(seconds) == text


@pytest.mark.parametrize(("per_hour", "sensors"), [(0, 1), (100, 0)])
def test_a_plan_needs_a_budget_and_a_sensor(per_hour: int, sensors: int) -> None:
    """A zero budget or no sensor is a programming error, not a plan."""
    with pytest.raises(ValueError, match="need a budget and a sensor"):
        plan(per_hour, sensors)

"""The household water model and exact volume: determinism, placement, leaks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bridge.simulator.household import (
    FIXTURES,
    IRRIGATION,
    UNITS_PER_GALLON,
    Household,
    generate_day,
)
from bridge.simulator.timebase import to_local, to_minutes
from bridge.simulator.volume import Leak, cumulative, volume

LA = "America/Los_Angeles"
BERLIN = "Europe/Berlin"
DEVICE = "6248148189204194987"
FIXTURE_WINDOWS = {f.name: f.windows for f in (*FIXTURES, IRRIGATION)}


def minutes(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return to_minutes(datetime(year, month, day, hour, minute, tzinfo=UTC))


def test_a_day_is_a_pure_function_of_seed_device_and_date() -> None:
    """Equal seed, device and date draw equal events; another seed draws others."""
    when = date(2024, 7, 4)
    first = generate_day(1, DEVICE, LA, when).events
    generate_day.cache_clear()
    assert generate_day(1, DEVICE, LA, when).events == first
    assert generate_day(2, DEVICE, LA, when).events != first
    assert generate_day(1, DEVICE, LA, date(2024, 7, 5)).events != first


@pytest.mark.parametrize(
    ("tz", "when", "length"),
    [
        (LA, date(2024, 3, 10), 1380),
        (LA, date(2024, 11, 3), 1500),
        (BERLIN, date(2024, 3, 31), 1380),
        (BERLIN, date(2024, 10, 27), 1500),
        (BERLIN, date(2024, 1, 15), 1440),
    ],
)
def test_days_run_between_local_midnights(tz: str, when: date, length: int) -> None:
    """A day spans local midnight to local midnight, 23 or 25 hours on DST days."""
    day = Household(4, DEVICE, tz).day(when)
    assert day.end - day.start == length
    assert (
        to_local(day.start, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") == f"{when} 00:00"
    )
    assert day.end == Household(4, DEVICE, tz).day(when + timedelta(1)).start


def dst_days() -> list[tuple[str, date]]:
    changes = {LA: ((3, 8), (11, 1)), BERLIN: ((3, 25), (10, 25))}
    found = []
    for tz, starts in changes.items():
        for year in range(2021, 2027):
            for month, first in starts:
                sunday = date(year, month, first)
                sunday += timedelta((6 - sunday.weekday()) % 7)
                found += [(tz, sunday), (tz, sunday - timedelta(1))]
    return found


def test_events_sit_at_their_fixtures_local_hours_even_on_dst_days() -> None:
    """Every event starts, in local time, inside one of its fixture's windows."""
    for tz, when in dst_days():
        zone = ZoneInfo(tz)
        for seed in range(4):
            day = Household(seed, DEVICE, tz).day(when)
            for event in day.events:
                hour = to_local(event.start, zone).hour
                windows = FIXTURE_WINDOWS[event.kind]
                assert any(lo <= hour < hi for lo, hi in windows), (tz, when, event)


def test_events_are_whole_minutes_inside_their_day_at_fixture_rates() -> None:
    """Events are whole UTC minutes within the day, with rates from their fixture."""
    fixtures = {f.name: f for f in (*FIXTURES, IRRIGATION)}
    household = Household(9, DEVICE, BERLIN)
    for offset in range(60):
        day = household.day(date(2024, 6, 1) + timedelta(offset))
        for event in day.events:
            fixture = fixtures[event.kind]
            assert day.start <= event.start <= event.end <= day.end
            assert isinstance(event.start, int)
            assert isinstance(event.end, int)
            assert fixture.rate[0] <= event.rate <= fixture.rate[1]
            assert event.end - event.start <= fixture.minutes[1]


def test_irrigation_follows_the_season_at_high_flow() -> None:
    """Sprinklers run on many summer days and few winter days, at 5 gpm or more."""
    household = Household(3, DEVICE, LA)

    def watering_days(month: int) -> int:
        return sum(
            any(
                e.kind == "irrigation"
                for e in household.day(date(year, month, d)).events
            )
            for year in (2023, 2024, 2025)
            for d in range(1, 29)
        )

    assert watering_days(7) > 30
    assert watering_days(1) < 10
    july = household.events(minutes(2024, 7, 1), minutes(2024, 8, 1))
    sprinklers = [e for e in july if e.kind == "irrigation"]
    assert sprinklers
    assert all(e.rate >= 5 * 256 and e.end - e.start >= 10 for e in sprinklers)


def test_volume_is_exact_and_additive() -> None:
    """Volumes of adjacent spans add up exactly, and a day's volume is its total."""
    household = Household(1, DEVICE, LA)
    day = household.day(date(2024, 11, 3))
    a, b, c = day.start, day.start + 777, day.end
    whole = volume(household, (), a, c)
    assert whole == volume(household, (), a, b) + volume(household, (), b, c)
    assert whole == day.total / UNITS_PER_GALLON
    assert whole * UNITS_PER_GALLON == int(whole * UNITS_PER_GALLON)


def test_flow_is_uniform_within_a_minute() -> None:
    """A fractional instant prorates the minute it falls in."""
    household = Household(1, DEVICE, LA)
    event = next(household.events(minutes(2024, 7, 1), minutes(2024, 7, 2)))
    start = float(event.start)
    full = volume(household, (), start, start + 1)
    assert full > 0
    assert volume(household, (), start, start + 0.25) == pytest.approx(full / 4)


def test_leaks_add_their_rate_while_they_run() -> None:
    """A leak adds rate x overlapping minutes; an open leak runs on indefinitely."""
    household = Household(1, DEVICE, LA)
    since, until = minutes(2024, 7, 1, 2), minutes(2024, 7, 1, 3)
    dry = volume(household, (), since, until)
    closed = Leak(int(since) + 10, int(since) + 40, 6)
    still_open = Leak(int(since) + 50, None, 256)
    wet = volume(household, (closed, still_open), since, until)
    assert wet - dry == 30 * 6 / 256 + 10 * 1.0
    assert volume(household, (still_open,), until, until + 60) == pytest.approx(
        volume(household, (), until, until + 60) + 60
    )


def test_cumulative_sweeps_many_instants_in_one_pass() -> None:
    """cumulative() gives increasing levels whose differences are the span volumes."""
    household = Household(2, DEVICE, BERLIN)
    instants = [minutes(2024, 10, 26) + 60 * k for k in range(72)]
    levels = cumulative(household, (), instants)
    assert cumulative(household, (), []) == []
    assert levels == sorted(levels)
    for k in (0, 30, 70):
        span = volume(household, (), instants[k], instants[k + 1])
        assert levels[k + 1] - levels[k] == span

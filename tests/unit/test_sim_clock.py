"""The simulated clock: speed, manual advance, jumps, and aware UTC times only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bridge.simulator.clock import SimClock

START = datetime(2025, 1, 1, 12, tzinfo=UTC)


class Wall:
    """A hand-driven stand-in for time.monotonic."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        """Return the current wall reading."""
        return self.seconds


def test_time_runs_at_the_configured_speed() -> None:
    """Ten wall seconds at speed 60 are ten simulated minutes."""
    wall = Wall()
    clock = SimClock(START, speed=60, wall=wall)
    assert clock.now() == START
    wall.seconds += 10
    assert clock.now() == START + timedelta(minutes=10)


def test_advance_adds_to_running_time_and_rejects_going_back() -> None:
    """advance() adds to the elapsed time; a negative step is an error."""
    wall = Wall()
    clock = SimClock(START, wall=wall)
    wall.seconds += 5
    clock.advance(3600)
    assert clock.now() == START + timedelta(seconds=3605)
    with pytest.raises(ValueError, match="negative"):
        clock.advance(-1)


def test_set_jumps_anywhere_and_keeps_running_from_there() -> None:
    """set() may go back in time, and the clock runs on from the new instant."""
    wall = Wall()
    clock = SimClock(START, speed=2, wall=wall)
    earlier = datetime(2020, 6, 1, 8, tzinfo=timezone(timedelta(hours=2)))
    clock.set(earlier)
    wall.seconds += 1.5
    now = clock.now()
    assert now == earlier + timedelta(seconds=3)
    assert now.tzinfo is UTC


def test_naive_times_and_negative_speed_are_refused() -> None:
    """A clock only takes aware times and a non-negative speed."""
    with pytest.raises(ValueError, match="aware"):
        SimClock(datetime(2025, 1, 1))  # noqa: DTZ001 (the naive input under test)
    with pytest.raises(ValueError, match="aware"):
        SimClock().set(datetime(2025, 1, 1))  # noqa: DTZ001 (likewise)
    with pytest.raises(ValueError, match="speed"):
        SimClock(speed=-1)


def test_default_start_is_the_real_time_now() -> None:
    """Without a start the clock begins at the real current UTC time."""
    before = datetime.now(UTC)
    now = SimClock().now()
    assert before <= now <= datetime.now(UTC)
    assert now.utcoffset() == timedelta(0)


def test_speed_zero_freezes_time() -> None:
    """At speed 0 only advance() and set() move the clock."""
    wall = Wall()
    clock = SimClock(START, speed=0, wall=wall)
    wall.seconds += 1e6
    assert clock.now() == START
    assert clock.speed == 0

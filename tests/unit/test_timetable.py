"""The service's timetable: `schedule` on the monotonic clock, not the wall's."""

from __future__ import annotations

import math

from bridge.service.timetable import ScheduleTimetable
from tests.support.clock import FakeClock


def timetable() -> tuple[ScheduleTimetable, FakeClock[float], list[str]]:
    """A timetable on a clock the test moves, and the list its jobs write to."""
    clock = FakeClock(1000.0)
    return ScheduleTimetable(clock), clock, []


def test_a_job_falls_due_by_the_monotonic_clock_alone() -> None:
    """A job runs once its interval has passed on the given clock, never before."""
    table, clock, ran = timetable()
    table.every(60, "usage", lambda: ran.append("usage"))
    clock.now += 59.9
    table.run_pending()
    assert ran == []
    assert math.isclose(table.idle_seconds() or 0, 0.1, abs_tol=1e-6)
    clock.now += 0.1
    table.run_pending()
    assert ran == ["usage"]
    assert table.idle_seconds() == 60


def test_the_cadence_follows_each_run() -> None:
    """The next run is an interval after the last, however late the loop turned."""
    table, clock, ran = timetable()
    table.every(60, "usage", lambda: ran.append("usage"), now=True)
    table.run_pending()
    clock.now += 150  # the loop was held up
    table.run_pending()
    clock.now += 59
    table.run_pending()
    assert ran == ["usage", "usage"]
    clock.now += 1
    table.run_pending()
    assert ran == ["usage", "usage", "usage"]


def test_a_retry_runs_once_and_clear_forgets_every_job() -> None:
    """`once` runs its job a single time; `clear` leaves nothing due."""
    table, clock, ran = timetable()
    table.every(300, "leaks", lambda: ran.append("leaks"))
    table.once(30, lambda: ran.append("retry"))
    assert table.interval("leaks") == 300
    for _ in range(3):
        clock.now += 30
        table.run_pending()
    assert ran == ["retry"]
    table.clear()
    assert table.idle_seconds() is None
    clock.now += 3600
    table.run_pending()
    assert ran == ["retry"]

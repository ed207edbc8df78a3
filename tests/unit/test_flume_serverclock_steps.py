"""ServerClock between answers: on the monotonic clock, whatever the host clock does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from bridge.flume.clock import ServerClock
from tests.support.clock import FakeClock

FLUME = datetime(2026, 11, 1, 5, 59, 35, tzinfo=UTC)
HOURS = 3600.0


def header(when: datetime) -> str:
    """The Date header of an answer at `when`."""
    return format_datetime(when, usegmt=True)


def clocks() -> tuple[FakeClock[float], FakeClock[float], ServerClock]:
    """A host clock and a monotonic one the test moves, and the clock on them."""
    host, elapsed = FakeClock(FLUME.timestamp()), FakeClock(250.0)
    return host, elapsed, ServerClock(host, elapsed)


def test_before_any_answer_it_is_the_host_clock() -> None:
    """With nothing heard from Flume, the host's time is the best there is."""
    host, _, clock = clocks()
    host.now += 6 * HOURS
    assert clock.now() == FLUME + timedelta(hours=6)


def test_a_host_clock_step_after_an_answer_moves_nothing() -> None:
    """NTP sets the host 6 h on, then 2 h back: now() keeps counting seconds."""
    host, elapsed, clock = clocks()
    clock.observe(header(FLUME))
    host.now += 6 * HOURS + 10
    elapsed.now += 10
    assert clock.now() == FLUME + timedelta(seconds=10)
    host.now += -2 * HOURS + 50
    elapsed.now += 50
    clock.observe(header(FLUME + timedelta(seconds=60)))  # agrees: nothing to learn
    assert clock.now() == FLUME + timedelta(seconds=60)
    assert clock.offset == -4 * HOURS  # the host is ahead by what is left


def test_a_server_clock_that_moves_is_followed() -> None:
    """An answer over 1.5 s from the count sets Flume's time anew."""
    _, elapsed, clock = clocks()
    clock.observe(header(FLUME + timedelta(hours=2)))
    elapsed.now += 30
    clock.observe(header(FLUME + timedelta(hours=2, seconds=40)))
    assert clock.now() == FLUME + timedelta(hours=2, seconds=40.5)

"""The rolling-hour counter: what the headers report, and another client sharing it."""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.simulator.clock import SimClock
from bridge.simulator.ratelimit import Budget, RateLimiter

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
EPOCH0 = int(T0.timestamp())
USER = 7


def limiter(limit: int = 120) -> tuple[RateLimiter, SimClock]:
    clock = SimClock(T0, speed=0.0)
    return RateLimiter(limit, clock.now), clock


def test_the_budget_tells_what_remains_and_when_the_oldest_leaves() -> None:
    """Remaining counts down; Reset is the oldest counted request plus an hour."""
    limits, clock = limiter(limit=3)
    assert limits.budget(USER) == Budget(3, 3, EPOCH0 + 3600)
    limits.admit(USER)
    clock.advance(100.5)
    limits.admit(USER)
    limits.admit(USER)
    assert not limits.admit(USER)
    assert limits.budget(USER) == Budget(3, 0, EPOCH0 + 3600)
    clock.advance(3500)  # the first request has left the hour
    assert limits.budget(USER) == Budget(3, 1, EPOCH0 + 3701)  # 100.5 s, rounded up
    assert limits.budget(USER).headers() == (
        ("X-RateLimit-Limit", "3"),
        ("X-RateLimit-Remaining", "1"),
        ("X-RateLimit-Reset", str(EPOCH0 + 3701)),
    )


def test_another_client_spends_evenly_from_the_same_hour() -> None:
    """At 60 an hour the other client takes one slot a minute, counted apart."""
    limits, clock = limiter()
    limits.set_other_client(USER, 60)
    clock.advance(59)
    assert limits.used(USER) == 0
    clock.advance(1)
    assert limits.used(USER) == 1
    clock.advance(3600)
    assert limits.used(USER) == 60
    assert limits.other_client() == {
        "per_hour": 60,
        "admitted": 61,
        "refused": 0,
        "in_window": 60,
    }
    assert sum(limits.admit(USER) for _ in range(70)) == 60
    assert limits.budget(USER).remaining == 0


def test_the_other_client_is_refused_when_the_hour_is_full() -> None:
    """A full hour refuses the other client too, and refusals are not counted."""
    limits, clock = limiter(limit=10)
    assert all(limits.admit(USER) for _ in range(10))
    limits.set_other_client(USER, 120)  # one every 30 s
    clock.advance(3599)
    assert limits.other_client()["refused"] == 119
    clock.advance(1)  # our ten leave; the other client's request at 3600 s gets in
    assert limits.other_client()["admitted"] == 1
    assert limits.used(USER) == 1


def test_a_jump_of_days_counts_only_what_fits_an_hour() -> None:
    """After a long jump the window holds one hour of the other client, no more."""
    limits, clock = limiter()
    limits.set_other_client(USER, 90)
    clock.advance(30 * 86400)
    assert limits.used(USER) == 90
    assert limits.other_client()["admitted"] == 30 * 24 * 90


def test_setting_the_other_client_to_zero_stops_it() -> None:
    """A rate of 0 stops new requests; its requests already counted still age out."""
    limits, clock = limiter()
    limits.set_other_client(USER, 600)
    clock.advance(60)
    limits.set_other_client(USER, 0)
    clock.advance(600)
    assert limits.used(USER) == 10
    assert limits.other_client() == {
        "per_hour": 0,
        "admitted": 0,
        "refused": 0,
        "in_window": 0,
    }


def test_a_new_pace_keeps_the_other_clients_counts() -> None:
    """Changing the rate starts the new pace from now and keeps what was counted."""
    limits, clock = limiter()
    limits.set_other_client(USER, 60)
    clock.advance(600)
    limits.set_other_client(USER, 6)
    clock.advance(599)
    assert limits.other_client()["admitted"] == 10
    clock.advance(1)
    assert limits.other_client() == {
        "per_hour": 6,
        "admitted": 11,
        "refused": 0,
        "in_window": 11,
    }

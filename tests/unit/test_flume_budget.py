"""RequestBudget: the rolling hour, the token reserve, the 429 pause and its backoff."""

from __future__ import annotations

import logging
import math
import random
import threading

import pytest

from bridge.errors import FlumeRateLimitError
from bridge.flume.budget import BACKOFF_MAX, RETRY_AFTER_MAX, RequestBudget
from tests.support.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock[float]:
    return FakeClock(1000.0)


def seeded(seed: int) -> random.Random:
    """A reproducible source of jitter."""
    return random.Random(seed)  # noqa: S311 (jitter, not cryptography)


def refusal(budget: RequestBudget, *, essential: bool = False) -> FlumeRateLimitError:
    with pytest.raises(FlumeRateLimitError) as caught:
        budget.acquire(essential=essential)
    return caught.value


def test_the_request_past_the_budget_is_refused_until_the_oldest_is_an_hour_old(
    clock: FakeClock[float],
) -> None:
    """Five requests fit a budget of five; the sixth waits for the first to age out."""
    budget = RequestBudget(5, now=clock)
    for _ in range(5):
        budget.acquire()
        clock.now += 60
    error = refusal(budget)
    assert error.status is None
    assert error.retry_after == pytest.approx(3600 - 300)
    assert budget.used() == 5  # the refused request was not recorded
    clock.now += 3600 - 300
    budget.acquire()
    assert budget.used() == 5  # the first aged out, the new one came in


def test_available_in_says_when_acquire_would_succeed(clock: FakeClock[float]) -> None:
    """available_in() is 0 with room and the seconds until a slot frees without."""
    budget = RequestBudget(2, now=clock)
    assert budget.available_in() == 0
    budget.acquire()
    clock.now += 100
    budget.acquire()
    assert budget.available_in() == pytest.approx(3500)
    clock.now += 3500
    assert budget.available_in() == 0


def test_reserved_slots_are_kept_for_essential_calls(clock: FakeClock[float]) -> None:
    """With two of ten slots reserved, queries stop at eight; token calls go on."""
    budget = RequestBudget(10, now=clock, reserve=2)
    for _ in range(8):
        budget.acquire()
    refusal(budget)
    assert budget.available_in(essential=True) == 0
    budget.acquire(essential=True)
    budget.acquire(essential=True)
    refusal(budget, essential=True)
    assert budget.used() == 10


def test_retry_after_pauses_every_request_for_that_long(
    clock: FakeClock[float],
) -> None:
    """After a 429 with Retry-After 120, nothing goes for 120 s, not even a token."""
    budget = RequestBudget(100, now=clock)
    budget.pause(120)
    clock.now += 119
    error = refusal(budget, essential=True)
    assert error.retry_after == pytest.approx(1)
    assert "paused" in str(error)
    clock.now += 1
    budget.acquire()


def test_retry_after_is_capped_at_a_day(clock: FakeClock[float]) -> None:
    """An absurd Retry-After cannot silence the bridge for more than a day."""
    budget = RequestBudget(100, now=clock)
    budget.pause(10 * RETRY_AFTER_MAX)
    assert budget.available_in() == pytest.approx(RETRY_AFTER_MAX)


@pytest.mark.parametrize("garbled", [None, -5.0, math.nan, math.inf])
def test_without_a_usable_retry_after_the_pause_is_the_first_backoff(
    clock: FakeClock[float], garbled: float | None
) -> None:
    """A missing, negative or non-finite Retry-After means 45-60 s of backoff."""
    budget = RequestBudget(100, now=clock)
    budget.pause(garbled)
    assert 45 <= budget.available_in() <= 60


def pauses(budget: RequestBudget, clock: FakeClock[float], count: int) -> list[float]:
    """Pause `count` times in a row, each after the previous pause ended."""
    seen = []
    for _ in range(count):
        budget.pause(None)
        seen.append(budget.available_in())
        clock.now += seen[-1]
    return seen


def test_backoff_doubles_with_jitter_up_to_an_hour(clock: FakeClock[float]) -> None:
    """Each 429 of a streak pauses 60 s x 2^n, up to 25 % less, capped at 1 h."""
    seen = pauses(RequestBudget(100, now=clock, rng=seeded(7)), clock, 9)
    for n, pause in enumerate(seen):
        nominal = min(BACKOFF_MAX, 60 * 2**n)
        assert 0.75 * nominal <= pause <= nominal
    assert seen[:6] == sorted(seen[:6])
    assert seen[-1] <= BACKOFF_MAX


def test_backoff_jitter_differs_between_bridges(clock: FakeClock[float]) -> None:
    """Two budgets with different random sources do not pause in step."""
    first = pauses(RequestBudget(100, now=clock, rng=seeded(1)), clock, 4)
    second = pauses(RequestBudget(100, now=clock, rng=seeded(2)), clock, 4)
    assert first != second


def test_success_resets_the_backoff(clock: FakeClock[float]) -> None:
    """After an answered request, the next 429 pauses for the first backoff again."""
    budget = RequestBudget(100, now=clock, rng=seeded(3))
    assert pauses(budget, clock, 4)[-1] >= 360
    budget.acquire()
    budget.success()
    budget.pause(None)
    assert 45 <= budget.available_in() <= 60


def test_a_shorter_retry_after_does_not_cut_a_running_pause(
    clock: FakeClock[float],
) -> None:
    """Two 429s in flight: the later, shorter Retry-After keeps the longer pause."""
    budget = RequestBudget(100, now=clock)
    budget.pause(300)
    budget.pause(10)
    assert budget.available_in() == pytest.approx(300)


@pytest.mark.parametrize(("per_hour", "reserve"), [(0, 0), (10, 10), (10, -1)])
def test_impossible_budgets_are_rejected(per_hour: int, reserve: int) -> None:
    """A budget needs at least one request an hour and room beside its reserve."""
    with pytest.raises(ValueError, match="must be"):
        RequestBudget(per_hour, reserve=reserve)


def test_threads_together_never_overspend(clock: FakeClock[float]) -> None:
    """Eight threads racing for 400 requests get exactly the 50 the hour allows."""
    budget = RequestBudget(50, now=clock)
    granted: list[int] = []

    def worker() -> None:
        mine = 0
        for _ in range(50):
            try:
                budget.acquire()
            except FlumeRateLimitError:
                continue
            mine += 1
        granted.append(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 50
    assert budget.used() == 50


def test_token_calls_do_not_eat_into_the_queries_share(clock: FakeClock[float]) -> None:
    """Two token calls in the hour leave the eight query slots of ten untouched."""
    budget = RequestBudget(10, now=clock, reserve=2)
    budget.acquire(essential=True)
    budget.acquire(essential=True)
    for _ in range(8):
        budget.acquire()
    refusal(budget)
    refusal(budget, essential=True)


def test_token_calls_past_the_reserve_still_respect_the_hour(
    clock: FakeClock[float],
) -> None:
    """Five token calls and five queries fill a budget of ten; a sixth query waits."""
    budget = RequestBudget(10, now=clock, reserve=2)
    for _ in range(5):
        budget.acquire(essential=True)
    for _ in range(5):
        budget.acquire()
    refusal(budget)
    assert budget.used() == 10


def test_room_for_several_requests_comes_when_enough_have_aged(
    clock: FakeClock[float],
) -> None:
    """With 3 of 5 slots used, room for 2 is there now, room for 3 when one ages out."""
    budget = RequestBudget(5, now=clock)
    for _ in range(3):
        budget.acquire()
        clock.now += 10
    assert budget.available_in(room=2) == 0
    assert budget.available_in(room=3) == pytest.approx(3600 - 30)
    with pytest.raises(ValueError, match="never comes"):
        budget.available_in(room=6)


def test_the_first_429_of_a_streak_warns_and_the_rest_are_debug(
    clock: FakeClock[float], caplog: pytest.LogCaptureFixture
) -> None:
    """A storm is one WARNING, then DEBUG lines, and one INFO when it is over."""
    budget = RequestBudget(100, now=clock)
    with caplog.at_level(logging.DEBUG, logger="bridge.flume.budget"):
        pauses(budget, clock, 3)
        budget.success()
    levels = [record.levelname for record in caplog.records]
    assert levels == ["WARNING", "DEBUG", "DEBUG", "INFO"]
    assert "after 3 rate-limited calls" in caplog.records[-1].getMessage()

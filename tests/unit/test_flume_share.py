"""The account's hour from Flume's rate-limit headers: the cap, the plan, the pause."""

from __future__ import annotations

import logging

import pytest
import requests

from bridge.errors import FlumeRateLimitError
from bridge.flume.budget import RequestBudget
from bridge.flume.http import rate_headers
from bridge.flume.share import AccountShare, RateHeaders
from tests.support.clock import FakeClock

HOUR = 3600.0
DATE = "Tue, 10 Mar 2026 18:30:15 GMT"
ANSWERED = 1773167415  # DATE in epoch seconds


@pytest.fixture
def clock() -> FakeClock[float]:
    return FakeClock(1000.0)


def answer(**headers: str) -> requests.Response:
    """A response as requests builds it from the wire, with these headers."""
    response = requests.Response()
    response.status_code = 200
    response.headers.update({"Date": DATE} | headers)
    return response


def said(limit: str, remaining: str, reset: str) -> RateHeaders:
    names = {
        "X-RateLimit-Limit": limit,
        "X-RateLimit-Remaining": remaining,
        "X-RateLimit-Reset": reset,
    }
    response = requests.Response()
    response.headers.update({"Date": DATE} | names)
    return rate_headers(response, now=0.0)


def test_reset_counts_from_the_answers_date_not_the_host_clock() -> None:
    """Epoch seconds of Reset are read against the answer's Date: 42 s from it."""
    headers = said("120", "7", str(ANSWERED + 42))
    assert headers == RateHeaders(limit=120, remaining=7, reset_in=42.0)


def test_a_small_reset_is_seconds_from_now() -> None:
    """A Reset like `30` (seconds, as some APIs send it) is taken as such."""
    assert said("120", "7", "30").reset_in == 30.0


@pytest.mark.parametrize(
    ("limit", "remaining", "reset"),
    [
        ("lots", "-1", "soon"),
        ("", " ", "nan"),
        ("1e3", "7.5", str(ANSWERED + 2 * 86400)),  # a day off: not a rolling hour
        ("99999999999", "0x10", str(ANSWERED - 3600)),  # long past
        ("0", "twelve", "inf"),
    ],
)
def test_garbage_headers_say_nothing(limit: str, remaining: str, reset: str) -> None:
    """Headers that are not plain counts and near times are ignored, never raised."""
    headers = said(limit, remaining, reset)
    assert headers.limit is None
    assert headers.reset_in is None
    assert headers.remaining is None


def test_without_a_date_reset_counts_from_flumes_time_as_last_learnt() -> None:
    """No Date header: the caller's idea of Flume's time stands in."""
    response = answer(**{"X-RateLimit-Reset": str(ANSWERED + 10)})
    del response.headers["Date"]
    assert rate_headers(response, now=ANSWERED - 5).reset_in == 15.0


def test_no_headers_no_word(clock: FakeClock[float]) -> None:
    """Without Remaining the share says nothing and plans the whole budget."""
    share = AccountShare(100)
    share.observe(rate_headers(answer(), now=0.0), ours=3, now=clock())
    assert share.cap(clock()) is None
    assert share.remaining(clock()) is None
    assert share.planned(clock()) == 100


def test_a_steady_neighbour_leaves_the_rest_of_the_hour(
    clock: FakeClock[float],
) -> None:
    """Others at 60 an hour: the cap is 60 for us, and so is the planned budget."""
    share = AccountShare(100)
    for _ in range(30):
        clock.now += 60
        share.observe(RateHeaders(120, 120 - 60 - 20, 30.0), ours=20, now=clock())
        assert share.planned(clock()) == 60
    assert share.cap(clock()) == 60
    assert share.remaining(clock()) == 40


def test_a_neighbour_that_just_started_is_expected_at_its_pace(
    clock: FakeClock[float],
) -> None:
    """Growing one a minute for ten minutes: expected at about 60 an hour."""
    share = AccountShare(100)
    for others in range(11):
        share.observe(RateHeaders(120, 120 - others, None), ours=0, now=clock())
        clock.now += 60
    cap = share.cap(clock())
    assert cap is not None
    assert 120 - 60 - 6 <= cap <= 120 - 60 + 6
    assert share.planned(clock()) <= 60


def test_the_plan_rises_an_hour_after_the_neighbour_leaves(
    clock: FakeClock[float], caplog: pytest.LogCaptureFixture
) -> None:
    """Others gone: the plan stays low while their count is in the hour, then rises."""
    caplog.set_level(logging.INFO, "bridge.flume.share")
    share = AccountShare(100)
    share.observe(RateHeaders(120, 60, None), ours=0, now=clock())
    assert share.planned(clock()) == 60
    for _ in range(59):
        clock.now += 60
        share.observe(RateHeaders(120, 120, None), ours=0, now=clock())
        assert share.planned(clock()) == 60
    clock.now += 61
    share.observe(RateHeaders(120, 120, None), ours=0, now=clock())
    assert share.planned(clock()) == 100
    assert len(caplog.records) == 2  # lowered once, raised once


def test_the_planned_budget_never_falls_below_the_floor(
    clock: FakeClock[float],
) -> None:
    """Others take all but one: the plan still has four requests an hour."""
    share = AccountShare(100)
    share.observe(RateHeaders(120, 1, None), ours=0, now=clock())
    assert share.planned(clock()) == 4
    assert share.cap(clock()) == 1


def test_remaining_without_a_limit_is_out_of_flumes_documented_120(
    clock: FakeClock[float],
) -> None:
    """Only Remaining: the limit is the documented 120 an hour."""
    share = AccountShare(100)
    share.observe(RateHeaders(None, 100, None), ours=10, now=clock())
    assert share.cap(clock()) == 120 - 10


def test_nothing_remains_pauses_every_call_until_the_reset(
    clock: FakeClock[float],
) -> None:
    """Remaining 0, Reset in 40 s: no call, not even a token grant, until then."""
    budget = RequestBudget(100, now=clock, reserve=2)
    budget.acquire()
    budget.observe(RateHeaders(120, 0, 40.0))
    assert refusal(budget).retry_after == pytest.approx(40.0)
    assert refusal(budget, essential=True).retry_after == pytest.approx(40.0)
    clock.now += 40
    budget.acquire()  # the slot Flume freed: it brings the next count
    assert (refusal(budget).retry_after or 0) > 0


def test_the_account_cap_keeps_the_token_reserve(clock: FakeClock[float]) -> None:
    """Three slots left of the account's hour: one query, then only token grants."""
    budget = RequestBudget(100, now=clock, reserve=2)
    budget.acquire()
    budget.observe(RateHeaders(120, 3, None))  # 116 of the others' and our one
    budget.acquire()
    assert (refusal(budget).retry_after or 0) > 0
    budget.acquire(essential=True)
    budget.acquire(essential=True)
    assert (refusal(budget, essential=True).retry_after or 0) > 0


def test_the_cap_is_lifted_an_hour_after_flumes_last_word(
    clock: FakeClock[float],
) -> None:
    """Headers gone for an hour: the bridge is back on its own budget alone."""
    budget = RequestBudget(100, now=clock, reserve=2)
    budget.acquire()
    budget.observe(RateHeaders(120, 1, None))
    assert refusal(budget).retry_after == pytest.approx(HOUR)
    clock.now += HOUR
    for _ in range(98):
        budget.acquire()
    assert budget.remaining() is None
    assert budget.planned() == 100


def refusal(budget: RequestBudget, *, essential: bool = False) -> FlumeRateLimitError:
    with pytest.raises(FlumeRateLimitError) as caught:
        budget.acquire(essential=essential)
    return caught.value

"""FlumeHttp reads the simulator's X-RateLimit-* headers at the edge, over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.errors import FlumeRateLimitError
from bridge.flume.share import RateHeaders
from bridge.simulator.behaviour import Behaviour
from bridge.simulator.server import Simulator
from tests.support.flume import Wiring, WiringFactory, add_fault
from tests.support.simulator import SimFactory


def get_user(flume: Wiring) -> Any:
    path = f"/users/{flume.tokens.user_id}"
    return flume.http.request("GET", path, token=flume.tokens.access_token())


def test_every_answer_tells_the_budget_what_flume_counts(
    sim_factory: SimFactory, wire: WiringFactory
) -> None:
    """The login and each call hand Limit, Remaining and Reset (from Date) over."""
    sim: Simulator = sim_factory(rate_limit=5)
    flume = wire(sim)
    get_user(flume)  # the password grant, then the call
    sim.clock.advance(600)
    get_user(flume)
    # The clock is frozen between moves: the login's hour ends 3600 s after it.
    assert flume.budget.headers == [
        RateHeaders(limit=5, remaining=4, reset_in=3600.0),
        RateHeaders(limit=5, remaining=3, reset_in=3600.0),
        RateHeaders(limit=5, remaining=2, reset_in=3000.0),
    ]


def test_a_429_with_nothing_remaining_pauses_until_the_reset(
    sim_factory: SimFactory, wire: WiringFactory
) -> None:
    """A full account: the 429 pauses the budget until Flume's Reset, not a guess."""
    sim: Simulator = sim_factory(rate_limit=2)
    flume = wire(sim)
    get_user(flume)
    sim.clock.advance(900)
    with pytest.raises(FlumeRateLimitError) as caught:
        get_user(flume)
    assert caught.value.status == 429
    assert flume.budget.pauses == [2700.0]  # the login leaves the hour then
    assert flume.budget.headers[-1] == RateHeaders(2, 0, 2700.0)


def test_an_injected_429_with_room_left_is_backed_off_as_before(
    sim: Simulator, wire: WiringFactory
) -> None:
    """Remaining above 0 on a 429: Reset says nothing of it, the backoff decides."""
    flume = wire(sim)
    flume.tokens.access_token()
    add_fault(sim, route="*/users/*", status=429)
    with pytest.raises(FlumeRateLimitError):
        get_user(flume)
    assert flume.budget.pauses == [None]


def test_without_headers_the_budget_hears_nothing(
    sim_factory: SimFactory, wire: WiringFactory
) -> None:
    """--no-rate-headers: every answer hands over empty headers."""
    sim: Simulator = sim_factory(behaviour=Behaviour(rate_headers=False))
    flume = wire(sim)
    get_user(flume)
    assert flume.budget.headers == [RateHeaders(), RateHeaders()]

"""429 storms from the simulator through RequestBudget: no crash, no request paused."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import requests

from bridge.errors import FlumeError, FlumeRateLimitError
from bridge.flume.budget import RequestBudget
from bridge.flume.client import FlumeClient
from bridge.flume.http import FlumeHttp
from bridge.flume.tokens import TokenManager
from bridge.flume.windows import queries, usage_windows
from bridge.simulator.server import Simulator
from tests.support.flume import DEMO, add_fault, sim_stats

TICK = 30  # seconds of simulated time between two job runs


@dataclass
class Attempt:
    """One job run: when, how many requests reached Flume, and how it ended."""

    at: float
    sent: int
    error: FlumeError | None
    paused_for: float  # the budget's wait right after the run


@dataclass
class Service:
    """A stand-in for the scheduler: the Flume client, its budget, a shared clock."""

    sim: Simulator
    client: FlumeClient
    budget: RequestBudget
    elapsed: Callable[[], float]
    attempts: list[Attempt] = field(default_factory=list)

    def run(self, ticks: int) -> None:
        """Run the usage job every TICK seconds; FlumeErrors end a run, nothing else."""
        device = self.sim.model.account.sensors[0].id
        tz = self.sim.model.account.locations[0].tz
        for _ in range(ticks):
            before = sim_stats(self.sim)["total"]
            error = None
            try:
                windows = usage_windows(self.sim.clock.now(), tz)
                self.client.query(device, queries(windows))
            except FlumeError as caught:  # the job boundary: log, retry next turn
                error = caught
            sent = sim_stats(self.sim)["total"] - before
            wait = self.budget.available_in()
            self.attempts.append(Attempt(self.elapsed(), sent, error, wait))
            self.sim.clock.advance(TICK)


@pytest.fixture
def service(sim: Simulator) -> Iterator[Service]:
    start = sim.clock.now()

    def elapsed() -> float:
        return (sim.clock.now() - start) / timedelta(seconds=1)

    budget = RequestBudget(100, now=elapsed, rng=random.Random(5))  # noqa: S311
    with requests.Session() as session:
        http = FlumeHttp(session, sim.url, 5.0, budget)
        tokens = TokenManager(http, DEMO, None, now=sim.clock.now)
        yield Service(sim, FlumeClient(http, tokens), budget, elapsed)


def rate_limited(attempt: Attempt) -> bool:
    error = attempt.error
    return isinstance(error, FlumeRateLimitError) and error.status == 429


def check_pauses_hold(attempts: list[Attempt]) -> None:
    """A run inside the pause after a 429 sends nothing and is refused locally."""
    paused_until = 0.0
    for attempt in attempts:
        if attempt.at < paused_until:
            assert attempt.sent == 0, attempt
            assert isinstance(attempt.error, FlumeRateLimitError), attempt
            assert attempt.error.status is None
        if rate_limited(attempt):
            paused_until = attempt.at + attempt.paused_for


def test_a_storm_of_bare_429s_backs_off_and_recovers(service: Service) -> None:
    """Fifteen minutes of bare 429s: jittered pauses of 1, 2, 4 ... minutes, then calm.

    Not one request leaves during a pause, and the first success resets the backoff.
    """
    service.run(2)  # logged in and reading
    add_fault(service.sim, route="*", status=429, seconds=900)
    service.run(60)
    attempts = service.attempts
    check_pauses_hold(attempts)
    storm = [a for a in attempts if rate_limited(a)]
    pauses = [a.paused_for for a in storm]
    assert 3 <= len(storm) <= 5  # 60 + 120 + 240 + 480 s fill the 15 minutes
    assert pauses == sorted(pauses)
    assert all(0.75 * 60 * 2**n <= p <= 60 * 2**n for n, p in enumerate(pauses))
    recovered = [a for a in attempts if a.at > 900 and a.error is None]
    assert recovered
    assert recovered[0].at <= storm[-1].at + storm[-1].paused_for + TICK
    assert attempts[-1].error is None
    assert attempts[-1].paused_for == 0  # success reset the backoff


def test_a_storm_with_retry_after_waits_exactly_that_long(service: Service) -> None:
    """A 429 storm saying Retry-After: 120 gets one request every two minutes."""
    service.run(1)
    add_fault(service.sim, route="*", status=429, retry_after=120, seconds=600)
    service.run(30)
    attempts = service.attempts
    check_pauses_hold(attempts)
    storm = [a for a in attempts if rate_limited(a)]
    assert all(a.paused_for == pytest.approx(120) for a in storm)
    gaps = [b.at - a.at for a, b in itertools.pairwise(storm)]
    assert gaps
    assert all(gap == pytest.approx(120) for gap in gaps)
    assert attempts[-1].error is None


def test_a_storm_on_the_token_route_is_survived(service: Service) -> None:
    """429s on the first login are typed errors too; reading starts once they stop."""
    add_fault(service.sim, route="/oauth/token", status=429, count=2)
    service.run(8)
    attempts = service.attempts
    check_pauses_hold(attempts)
    first, second = (a for a in attempts if rate_limited(a))
    assert 45 <= first.paused_for <= 60
    assert second.at - first.at >= first.paused_for
    assert attempts[-1].error is None

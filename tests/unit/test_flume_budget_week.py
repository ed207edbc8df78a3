"""A simulated week of planned calls through RequestBudget on an injected clock."""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bridge.errors import FlumeRateLimitError
from bridge.flume.budget import HOUR, RequestBudget
from bridge.flume.planner import Plan, plan
from bridge.flume.record import RequestRecord
from tests.support.clock import FakeClock

WEEK = 7 * 24 * HOUR
TOKEN_LIFETIME = 7 * 24 * HOUR  # Flume's access tokens last a week
REFRESH_AT = TOKEN_LIFETIME * 2 / 3  # TokenManager refreshes at 2/3 of the lifetime


@dataclass
class Week:
    """What a week of calls did: when each request went, and what was refused."""

    sent: list[float] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    ran: dict[str, list[float]] = field(default_factory=dict)


def run_week(
    p: Plan,
    seed: int,
    incidents: list[float],
    *,
    record: RequestRecord | None = None,
    until: float = WEEK,
) -> Week:
    """Run every planned job at its cadence for a week, plus token calls and 401s.

    Each job instance starts at a random phase and then runs every `interval`
    seconds, start to start; a refused run waits as long as the limiter says. The token
    manager logs in at 0 and refreshes at 2/3 of the token lifetime; each incident is
    a 401: one forced refresh (a token call) and the retried query. With a
    `record`, the budget shares its hour through it (STATE_DIR), for `until` seconds.
    """
    rng = random.Random(seed)  # noqa: S311 (phases, not cryptography)
    clock = FakeClock(0.0)
    budget = RequestBudget(
        p.per_hour, now=clock, reserve=p.token_reserve, record=record
    )
    week = Week()
    queue: list[tuple[float, int, str, int, int]] = []
    for cadence in p.cadences():
        for _ in range(cadence.runs):
            start = rng.uniform(0, cadence.interval)
            job = (cadence.name, cadence.interval, cadence.requests)
            queue.append((start, len(queue), *job))
    queue += [
        (t, len(queue) + i, "token", 0, 1) for i, t in enumerate((0.0, REFRESH_AT))
    ]
    queue += [(t, len(queue) + i, "incident", 0, 1) for i, t in enumerate(incidents)]
    heapq.heapify(queue)
    while queue and queue[0][0] < until:
        when, order, name, interval, requests = heapq.heappop(queue)
        clock.now = when
        wait = call(budget, week, (when, name), requests)
        if wait is not None:  # refused: try again when the limiter has room
            heapq.heappush(queue, (when + wait, order, name, interval, requests))
        elif interval:
            heapq.heappush(queue, (when + interval, order, name, interval, requests))
    return week


def call(
    budget: RequestBudget, week: Week, run: tuple[float, str], requests: int
) -> float | None:
    """Send one run's requests through the budget, as the service would.

    A run of several requests first asks for room for all of them. An incident is a
    401: the forced refresh (essential), then the query retried once.

    Returns:
        None when the run went (or is over), else the seconds to wait for room.
    """
    now, name = run
    essential = name in ("token", "incident")
    wait = budget.available_in(essential=essential, room=requests)
    if wait:
        week.refused[name] = week.refused.get(name, 0) + 1
        return wait
    for _ in range(requests):  # the room was there: a refusal here fails the test
        budget.acquire(essential=essential)
        week.sent.append(now)
    week.ran.setdefault(name, []).append(now)
    if name == "incident":
        retry(budget, week, now)
    return None


def retry(budget: RequestBudget, week: Week, now: float) -> None:
    """Retry the query that met a 401; if refused, it waits for its next turn."""
    try:
        budget.acquire()
    except FlumeRateLimitError:
        week.refused["retry"] = week.refused.get("retry", 0) + 1
    else:
        week.sent.append(now)


def busiest_hour(sent: list[float]) -> int:
    """The most requests within any rolling hour (t - 3600, t], counted afresh."""
    sent = sorted(sent)
    most, first = 0, 0
    for last, when in enumerate(sent):
        while sent[first] <= when - HOUR:
            first += 1
        most = max(most, last - first + 1)
    return most


def apart(hours: list[int], rng: random.Random) -> list[float]:
    """One 401 incident in each of the given hours, never two within an hour."""
    return [h * HOUR + rng.uniform(0, HOUR / 2) for h in sorted(set(hours))[::2]]


@settings(max_examples=30, deadline=None)
@given(
    per_hour=st.integers(10, 120),
    sensors=st.integers(1, 8),
    seed=st.integers(0, 2**32),
    hours=st.lists(st.integers(1, 7 * 24 - 2), max_size=12),
)
@example(per_hour=100, sensors=1, seed=0, hours=[])
@example(per_hour=10, sensors=8, seed=1, hours=[5, 50, 100])
@example(per_hour=20, sensors=1, seed=2, hours=[3])
def test_no_rolling_hour_of_a_planned_week_exceeds_the_budget(
    per_hour: int, sensors: int, seed: int, hours: list[int]
) -> None:
    """A week at the planned cadence, with token calls and 401s, never overspends.

    When every job runs within the hour, no planned call is even refused; with
    slower jobs, the limiter defers some, and every job still gets most of its runs.
    """
    p = plan(per_hour, sensors)
    incidents = apart(hours, random.Random(seed))  # noqa: S311 (test data)
    week = run_week(p, seed, incidents)
    assert busiest_hour(week.sent) <= per_hour
    assert "token" not in week.refused
    assert "incident" not in week.refused
    hourly = max(c.interval for c in p.cadences()) <= HOUR
    if hourly:
        assert week.refused == {}, p.describe()
    for cadence in p.cadences():
        expected = WEEK // cadence.interval * cadence.runs
        assert len(week.ran[cadence.name]) >= expected * (1 if hourly else 0.5)


def test_one_sensor_at_the_default_budget_reads_usage_every_minute() -> None:
    """With 1 sensor at 100/h, usage is read every minute of a week, never refused."""
    week = run_week(plan(100, 1), seed=3, incidents=[HOUR * 30.5, HOUR * 100.2])
    usage = week.ran["usage"]
    gaps = [b - a for a, b in itertools.pairwise(usage)]
    assert max(gaps) <= 60 + 1e-6  # float sums of 60 s steps
    assert len(usage) >= WEEK // 60 - 1
    assert week.refused == {}

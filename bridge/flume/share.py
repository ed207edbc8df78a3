"""AccountShare: the account's hour as Flume's rate-limit headers tell it, and our part.

Flume's 120 requests an hour are the account's (flume-api.md §5.1), and others may spend
them: Home Assistant's Flume integration, the app, a second bridge. When an answer
carries `X-RateLimit-Remaining` (reported by one client, §5.1; never required), what
Flume counts and this bridge did not send is the others' use:

    others = Limit - Remaining - ours in the last hour

A neighbour that has just started (Home Assistant after a restart) fills its hour
over the next hour, and requests of ours sent meanwhile stay in the account's hour
for an hour too: so when the others' count grows, what it will be once their hour is
full is expected, at the pace it grew over the last quarter of an hour.

Two figures follow. The cap, for the limiter: no request of ours goes unless the
account's hour has room for it beside what the others are expected to use, token
reserve kept; where it has none, the next goes when Flume's `X-RateLimit-Reset` says a
slot frees (and that one request brings the new count). The planned budget, for the
planner: the configured budget, or less when what the others use (their busiest count
of the last hour, or the expected one) leaves less, in steps of a tenth of the budget.
It falls as soon as the others are expected to spend more, and rises only when they
have spent less for an hour and it has not fallen for an hour, so the plan follows a
steady neighbour without wavering. Without headers in the last hour both say nothing,
and the bridge runs on its own budget alone.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import deque
from dataclasses import dataclass

log = logging.getLogger(__name__)

HOUR = 3600.0
FLUME_HOUR = 120  # the documented limit, when Remaining comes without a Limit
# Never plan for fewer requests an hour than this: the limiter keeps the account's hour
# whatever the plan, and a plan this slow still polls each sensor now and then.
FLOOR = 4
STEPS = 10  # the planned budget moves in tenths of the configured one
PACE_OVER = 900.0  # seconds of the others' growth that set its pace ...
PACE_MIN = 300.0  # ... once this long has been seen


@dataclass(frozen=True, slots=True)
class RateHeaders:
    """What one answer's X-RateLimit-* headers say; None where a header is absent."""

    limit: int | None = None
    remaining: int | None = None
    reset_in: float | None = None  # seconds from the answer until a slot frees


@dataclass(frozen=True, slots=True)
class _Seen:
    at: float
    limit: int
    remaining: int
    others: int  # requests in Flume's hour that were not ours
    reset_at: float | None


class AccountShare:
    """What Flume said of the account's hour lately, and the part left for us.

    Not thread-safe: RequestBudget calls it under its lock.
    """

    def __init__(self, per_hour: int) -> None:
        self._per_hour = per_hour
        self._step = max(1, per_hour // STEPS)
        self._seen: deque[_Seen] = deque()
        self._planned = per_hour
        self._lowered = -math.inf  # when the planned budget was last lowered
        self._empty = False  # the last answer said nothing remains

    def observe(self, headers: RateHeaders, ours: int, now: float) -> None:
        """Note an answer's headers; `ours`: our requests of the hour, it included."""
        if headers.remaining is None:
            return
        limit = headers.limit or FLUME_HOUR
        others = max(0, limit - headers.remaining - ours)
        reset_at = None if headers.reset_in is None else now + headers.reset_in
        self._seen.append(_Seen(now, limit, headers.remaining, others, reset_at))
        self._expire(now)
        self._notice_empty(headers.remaining, headers.reset_in)

    def cap(self, now: float) -> int | None:
        """The most requests of ours the account's hour holds now; None: no word."""
        self._expire(now)
        if not self._seen:
            return None
        last = self._seen[-1]
        return max(0, last.limit - self._expected())

    def next_slot(self, now: float) -> float:
        """When a request of ours may go although the cap says the hour is full.

        When Flume said a slot frees (`X-RateLimit-Reset`, not yet used by a request
        of ours), else when its last word is an hour old and says nothing any more.
        """
        self._expire(now)
        if not self._seen:
            return now
        last = self._seen[-1]
        return last.at + HOUR if last.reset_at is None else last.reset_at

    def took(self, now: float) -> None:
        """A request of ours went: a slot that freed at the reset is spent by it."""
        if self._seen and (at := self._seen[-1].reset_at) is not None and at <= now:
            self._seen[-1] = dataclasses.replace(self._seen[-1], reset_at=None)

    def remaining(self, now: float) -> int | None:
        """What the last answer of the hour said remains; None without one."""
        self._expire(now)
        return self._seen[-1].remaining if self._seen else None

    def planned(self, now: float) -> int:
        """The budget to plan for: the configured one less what the others need."""
        self._expire(now)
        wanted = self._per_hour
        if self._seen:
            busiest = max(self._expected(), *(seen.others for seen in self._seen))
            room = self._seen[-1].limit - busiest
            wanted = min(wanted, max(FLOOR, room // self._step * self._step))
        rise = wanted > self._planned and now - self._lowered >= HOUR
        if wanted < self._planned or rise:
            self._planned = wanted
            self._notice_plan(wanted)
            if not rise:
                self._lowered = now
        return self._planned

    def _expected(self) -> int:
        """The others' count once their hour is full, at the pace it grows now."""
        last = self._seen[-1]
        first = next(seen for seen in self._seen if seen.at >= last.at - PACE_OVER)
        span = last.at - first.at
        if span < PACE_MIN or last.others <= first.others:
            return last.others
        # One request less than seen: the count moves in steps, and the first and last
        # look may fall just after one of them, which would make the pace too quick.
        pace = (last.others - first.others - 1) / span
        return min(last.limit, max(last.others, math.ceil(pace * HOUR)))

    def _expire(self, now: float) -> None:
        while self._seen and self._seen[0].at <= now - HOUR:
            self._seen.popleft()

    def _notice_empty(self, remaining: int, reset_in: float | None) -> None:
        empty = remaining == 0
        if empty and not self._empty:
            wait = "" if reset_in is None else f"; the next in {math.ceil(reset_in)} s"
            log.info("Flume says no request remains of the account's hour%s", wait)
        self._empty = empty

    def _notice_plan(self, planned: int) -> None:
        if planned == self._per_hour:
            log.info("planning for the whole budget again (%d an hour)", planned)
            return
        busiest = max(self._expected(), *(seen.others for seen in self._seen))
        log.info(
            "Flume counts (or soon will) up to %d requests an hour that are not ours: "
            "planning for %d an hour of the %d budgeted",
            busiest,
            planned,
            self._per_hour,
        )

"""Flume's per-user request limit over a rolling hour of simulated time.

The limit is per account (flume-api.md §5.1), so another client on the same account
(Home Assistant's integration, the app, a second bridge) spends from the same hour: it
is modelled as N requests an hour, evenly spaced, counted in the same window when the
clock passes them (and refused, like anyone's, when the window is full).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

WINDOW_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class Budget:
    """What the rate-limit headers tell: the limit, what remains, when a slot frees."""

    limit: int
    remaining: int
    reset: int  # epoch seconds when the oldest counted request leaves the window

    def headers(self) -> tuple[tuple[str, str], ...]:
        """The X-RateLimit-* headers of an answer."""
        return (
            ("X-RateLimit-Limit", str(self.limit)),
            ("X-RateLimit-Remaining", str(self.remaining)),
            ("X-RateLimit-Reset", str(self.reset)),
        )


@dataclass(slots=True)
class _OtherClient:
    user_id: int
    per_hour: int
    due: float  # epoch seconds of its next request
    admitted: int = 0
    refused: int = 0


class RateLimiter:
    """Admits at most `limit` requests per user in any `window` seconds; thread-safe.

    Refused requests are not counted, so a client that keeps retrying is admitted again
    as soon as its oldest admitted request leaves the window.
    """

    def __init__(
        self,
        limit: int,
        now: Callable[[], datetime],
        window: float = WINDOW_SECONDS,
    ) -> None:
        self.limit = limit
        self._now = now
        self._window = window
        self._lock = threading.Lock()
        # (time, True for the other client's requests), oldest first.
        self._admitted: dict[int, deque[tuple[float, bool]]] = {}
        self._other: _OtherClient | None = None

    def admit(self, user_id: int) -> bool:
        """Count one request for `user_id` and return True, or return False if over."""
        now = self._now().timestamp()
        with self._lock:
            self._catch_up(now)
            return self._try(user_id, now, other=False)

    def used(self, user_id: int) -> int:
        """Return how many requests of `user_id` are in the current window."""
        now = self._now().timestamp()
        with self._lock:
            self._catch_up(now)
            return len(self._recent(user_id, now))

    def budget(self, user_id: int) -> Budget:
        """Return the account's budget as the rate-limit headers report it."""
        now = self._now().timestamp()
        with self._lock:
            self._catch_up(now)
            times = self._recent(user_id, now)
            oldest = times[0][0] if times else now
        remaining = max(0, self.limit - len(times))
        return Budget(self.limit, remaining, math.ceil(oldest + self._window))

    def set_other_client(self, user_id: int, per_hour: int) -> None:
        """Let another client spend `per_hour` requests an hour from now (0: none)."""
        now = self._now().timestamp()
        with self._lock:
            self._catch_up(now)
            previous = self._other
            if per_hour <= 0:
                self._other = None
                return
            other = _OtherClient(user_id, per_hour, now + WINDOW_SECONDS / per_hour)
            if previous is not None:
                other.admitted, other.refused = previous.admitted, previous.refused
            self._other = other

    def other_client(self) -> dict[str, object]:
        """The other client's requests: rate, admitted, refused, inside the window."""
        now = self._now().timestamp()
        with self._lock:
            self._catch_up(now)
            other = self._other
            if other is None:
                return {"per_hour": 0, "admitted": 0, "refused": 0, "in_window": 0}
            mine = sum(1 for _, its in self._recent(other.user_id, now) if its)
            return {
                "per_hour": other.per_hour,
                "admitted": other.admitted,
                "refused": other.refused,
                "in_window": mine,
            }

    def reset_other_counts(self) -> None:
        """Start counting the other client's admitted and refused requests afresh."""
        with self._lock:
            if self._other is not None:
                self._other.admitted = self._other.refused = 0

    def _catch_up(self, now: float) -> None:
        # The other client's requests happen when the clock passes them; only those
        # still inside the window can matter, so a jump of days skips the rest.
        other = self._other
        if other is None:
            return
        step = WINDOW_SECONDS / other.per_hour
        horizon = now - self._window
        if other.due <= horizon:
            skipped = math.floor((horizon - other.due) / step) + 1
            other.admitted += skipped
            other.due += skipped * step
        while other.due <= now:
            if self._try(other.user_id, other.due, other=True):
                other.admitted += 1
            else:
                other.refused += 1
            other.due += step

    def _try(self, user_id: int, at: float, *, other: bool) -> bool:
        times = self._recent(user_id, at)
        if len(times) >= self.limit:
            return False
        times.append((at, other))
        return True

    def _recent(self, user_id: int, now: float) -> deque[tuple[float, bool]]:
        times = self._admitted.setdefault(user_id, deque())
        while times and times[0][0] <= now - self._window:
            times.popleft()
        return times

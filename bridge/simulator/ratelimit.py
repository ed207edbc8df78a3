"""Flume's per-user request limit over a rolling hour of simulated time."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime

WINDOW_SECONDS = 3600.0


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
        self._admitted: dict[int, deque[float]] = {}

    def admit(self, user_id: int) -> bool:
        """Count one request for `user_id` and return True, or return False if over."""
        now = self._now().timestamp()
        with self._lock:
            times = self._recent(user_id, now)
            if len(times) >= self.limit:
                return False
            times.append(now)
            return True

    def used(self, user_id: int) -> int:
        """Return how many requests of `user_id` are in the current window."""
        now = self._now().timestamp()
        with self._lock:
            return len(self._recent(user_id, now))

    def _recent(self, user_id: int, now: float) -> deque[float]:
        times = self._admitted.setdefault(user_id, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        return times

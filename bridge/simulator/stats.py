"""Request counters and the request log for GET /_sim/stats."""

from __future__ import annotations

import threading
from collections import Counter, deque
from datetime import datetime
from typing import Final

# The newest requests kept for `GET /_sim/stats?log=true`: a long-running simulator
# (the demo's) must not grow without end; a reader that wants every request drains the
# log (GET, then DELETE) more often than this many arrive.
LOG_LIMIT: Final = 10_000


class Stats:
    """Counts answered Flume requests and logs each one's time; thread-safe."""

    def __init__(self, log_limit: int = LOG_LIMIT) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, Counter[str]] = {}
        self._statuses: Counter[str] = Counter()
        self._log: deque[tuple[datetime, str, str]] = deque(maxlen=log_limit)
        self._logged = 0  # requests logged since the last reset, kept or not

    def record(self, route: str, status: str, at: datetime) -> None:
        """Count one request to `route` ("GET /users/{uid}") that ended in `status`.

        `at` is the simulated time the request arrived.
        """
        with self._lock:
            self._routes.setdefault(route, Counter())[status] += 1
            self._statuses[status] += 1
            self._log.append((at, route, status))
            self._logged += 1

    def snapshot(self) -> dict[str, object]:
        """Return the totals, per route (with per-status counts) and per status."""
        with self._lock:
            routes = {
                route: {"total": sum(counts.values()), "by_status": dict(counts)}
                for route, counts in sorted(self._routes.items())
            }
            return {
                "total": sum(self._statuses.values()),
                "by_status": dict(sorted(self._statuses.items())),
                "by_route": routes,
            }

    def log(self) -> tuple[list[tuple[datetime, str, str]], int]:
        """Return the logged requests, oldest first, and how many fell off the log."""
        with self._lock:
            return list(self._log), self._logged - len(self._log)

    def reset(self) -> None:
        """Forget every count and the log."""
        with self._lock:
            self._routes.clear()
            self._statuses.clear()
            self._log.clear()
            self._logged = 0

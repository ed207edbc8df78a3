"""Request counters for GET /_sim/stats: per route template and per status."""

from __future__ import annotations

import threading
from collections import Counter


class Stats:
    """Counts answered Flume requests; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, Counter[str]] = {}
        self._statuses: Counter[str] = Counter()

    def record(self, route: str, status: str) -> None:
        """Count one request to `route` ("GET /users/{uid}") that ended in `status`."""
        with self._lock:
            self._routes.setdefault(route, Counter())[status] += 1
            self._statuses[status] += 1

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

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._routes.clear()
            self._statuses.clear()

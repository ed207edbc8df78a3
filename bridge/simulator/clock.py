"""The simulated clock: a seam that lets tests run days of Flume time in seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class SimClock:
    """Simulated UTC clock: start + wall elapsed * speed + offset; thread-safe."""

    def __init__(
        self,
        start: datetime | None = None,
        speed: float = 1.0,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ValueError(f"clock speed must not be negative, got {speed}")
        self._lock = threading.Lock()
        self._wall = wall
        self._speed = speed
        self._anchor = _require_aware(start) if start else datetime.now(UTC)
        self._anchor_wall = wall()

    @property
    def speed(self) -> float:
        """Simulated seconds per wall-clock second."""
        return self._speed

    def now(self) -> datetime:
        """Return the simulated time (aware, UTC)."""
        with self._lock:
            elapsed = (self._wall() - self._anchor_wall) * self._speed
            return self._anchor + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds` (negative is a ValueError)."""
        if seconds < 0:
            raise ValueError(f"cannot advance the clock by a negative {seconds} s")
        with self._lock:
            self._anchor += timedelta(seconds=seconds)

    def set(self, when: datetime) -> None:
        """Jump to the aware instant `when`; going back is allowed."""
        anchor = _require_aware(when)
        with self._lock:
            self._anchor = anchor
            self._anchor_wall = self._wall()


def _require_aware(when: datetime) -> datetime:
    if when.utcoffset() is None:
        raise ValueError(f"clock times must be timezone-aware, got {when.isoformat()}")
    return when.astimezone(UTC)

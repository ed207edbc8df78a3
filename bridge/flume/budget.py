"""RequestBudget: the rolling-hour limit on Flume requests and the pause after a 429."""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable

from bridge.errors import FlumeRateLimitError

log = logging.getLogger(__name__)

HOUR = 3600.0
BACKOFF_FIRST = 60.0  # seconds of the first pause after a 429 without Retry-After
BACKOFF_MAX = HOUR  # a pause never grows past this without Retry-After
# A pause is shortened by up to this fraction, so bridges that were rate limited
# together (say, several on one account) do not come back in step.
JITTER = 0.25
# Retry-After is honoured as sent, up to a day: a larger or garbled value must not
# silence the bridge for longer.
RETRY_AFTER_MAX = 24 * HOUR


class RequestBudget:
    """Counts every Flume request in a rolling hour and refuses the one too many.

    `acquire()` never blocks: it records a request or raises FlumeRateLimitError
    (status None) saying when to try again. Other calls never take the last `reserve`
    slots of the hour: those are kept for essential calls (token grants), so a busy
    hour of queries cannot lock out a refresh. After a 429, `pause()` stops every
    request for Retry-After seconds, or else for an exponential backoff with jitter;
    `success()` resets the backoff. Thread-safe.
    """

    def __init__(
        self,
        per_hour: int,
        now: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        *,
        reserve: int = 0,
    ) -> None:
        if per_hour < 1:
            raise ValueError(f"per_hour must be at least 1, got {per_hour}")
        if not 0 <= reserve < per_hour:
            raise ValueError(f"reserve must be 0..{per_hour - 1}, got {reserve}")
        self.per_hour = per_hour
        self.reserve = reserve
        self._now = now
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()  # every request of the last hour
        self._calls: deque[float] = deque()  # those not essential
        self._paused_until = -math.inf
        self._streak = 0  # 429s since the last success

    def acquire(self, *, essential: bool = False) -> None:
        """Record one request about to be sent, or refuse it without recording.

        Args:
            essential: a token grant, which may use the reserved slots.

        Raises:
            FlumeRateLimitError: paused after a 429, or the hour's budget is spent;
                `retry_after` is the number of seconds until a request may go.
        """
        with self._lock:
            now = self._now()
            wait = self._wait(now, essential=essential)
            if wait == 0:
                self._sent.append(now)
                if not essential:
                    self._calls.append(now)
                return
            paused = now < self._paused_until
        reason = "paused after HTTP 429" if paused else "request budget spent"
        raise FlumeRateLimitError(
            f"not sent: {reason}; next request in {wait:.0f} s",
            status=None,
            retry_after=wait,
        )

    def pause(self, retry_after: float | None) -> None:
        """Stop every request after a 429, for `retry_after` seconds when given."""
        with self._lock:
            self._streak += 1
            if retry_after is not None and 0 <= retry_after < math.inf:
                seconds = min(retry_after, RETRY_AFTER_MAX)
            else:
                seconds = self._backoff()
            self._paused_until = max(self._paused_until, self._now() + seconds)
            streak = self._streak
        # The first 429 of a streak is news; the rest of the storm is detail.
        level = logging.WARNING if streak == 1 else logging.DEBUG
        log.log(
            level, "Flume rate limit (429 #%d): pausing for %.0f s", streak, seconds
        )

    def success(self) -> None:
        """Note an answered request: the next 429 starts the backoff afresh."""
        with self._lock:
            if self._streak:
                log.info(
                    "Flume answers again after %d rate-limited calls", self._streak
                )
            self._streak = 0

    def used(self) -> int:
        """Requests recorded in the last hour."""
        with self._lock:
            self._expire(self._now())
            return len(self._sent)

    def available_in(self, *, essential: bool = False, room: int = 1) -> float:
        """Seconds until `room` requests in a row would be granted; 0 when now.

        A job that needs several requests (devices, then locations) asks first, so
        it does not spend the first and then find no room for the second.
        """
        if not 1 <= room <= self.per_hour - (0 if essential else self.reserve):
            raise ValueError(f"room for {room} requests never comes in this budget")
        with self._lock:
            return self._wait(self._now(), essential=essential, room=room)

    def _backoff(self) -> float:
        nominal = min(BACKOFF_MAX, BACKOFF_FIRST * 2.0 ** (self._streak - 1))
        return nominal * (1 - JITTER * self._rng.random())

    def _wait(self, now: float, *, essential: bool, room: int = 1) -> float:
        """Seconds until `room` requests may go (lock held)."""
        self._expire(now)
        waits = [
            self._paused_until - now,
            _frees(self._sent, self.per_hour - room, now),
        ]
        if not essential:
            cap = self.per_hour - self.reserve - room
            waits.append(_frees(self._calls, cap, now))
        return max(0.0, *waits)

    def _expire(self, now: float) -> None:
        for sent in (self._sent, self._calls):
            while sent and sent[0] <= now - HOUR:
                sent.popleft()


def _frees(sent: deque[float], most: int, now: float) -> float:
    """Seconds until no more than `most` of the times in `sent` are within the hour."""
    if len(sent) <= most:
        return 0.0
    # That is when the request `most` places before the newest is an hour old.
    return sent[len(sent) - most - 1] + HOUR - now

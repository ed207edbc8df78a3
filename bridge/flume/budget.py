"""RequestBudget: the rolling-hour limit on Flume requests and the pause after a 429.

With a RequestRecord (STATE_DIR), the hour is shared by every process and survives
them: before it sends, a process takes a few slots at once (BLOCK, each good for LEASE
seconds) and writes them to the record as sent at the end of their lease, so that a
SIGKILL right after cannot forget them, while the SD card sees one small write per
few requests. A later write stamps the slots used with their real times and drops the
unused; a clean stop gives the unused back. Every write first reads the others' slots
under the record's lock and checks the hour with them: no rolling hour of all
processes together holds more than the budget.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from heapq import merge

from bridge.errors import FlumeRateLimitError
from bridge.flume.record import LEASE, RequestRecord

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
BLOCK = 4  # slots taken per write of the record: about 3 minutes of one sensor's calls


class RequestBudget:
    """Counts every Flume request in a rolling hour and refuses the one too many.

    `acquire()` never blocks: it records a request or raises FlumeRateLimitError
    (status None) saying when to try again. Other calls never take the last `reserve`
    slots of the hour: those are kept for essential calls (token grants), so a busy
    hour of queries cannot lock out a refresh. After a 429, `pause()` stops every
    request for Retry-After seconds, or else for an exponential backoff with jitter;
    `success()` resets the backoff. With a `record`, every process with the same
    STATE_DIR counts into one hour (see the module docstring); `release()` gives the
    unused slots back. Thread-safe.
    """

    def __init__(
        self,
        per_hour: int,
        now: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        *,
        reserve: int = 0,
        record: RequestRecord | None = None,
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
        self._record = record
        self._others: deque[float] = deque()  # other processes' requests (record)
        self._held: deque[float] = deque()  # slots of ours in the record, by lease end
        self._ahead = False  # the record stamps some of ours ahead of their time
        self._unrecorded = False  # the last write of the record failed
        if record is not None:
            self._look(record, now())

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
            self._expire(now)  # a slot whose lease ran out is no slot
            if self._record is not None and not self._held:
                # Afresh from the record: others may have given slots back since.
                wait = self._reserve(self._record, now, essential=essential)
            else:
                wait = self._wait(now, essential=essential)
            if wait == 0:
                self._take(now, essential=essential)
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
        """Requests recorded in the last hour (by every process, with a record)."""
        with self._lock:
            self._expire(self._now())
            return len(self._sent) + len(self._others)

    def available_in(self, *, essential: bool = False, room: int = 1) -> float:
        """Seconds until `room` requests in a row would be granted; 0 when now.

        A job that needs several requests (devices, then locations) asks first, so
        it does not spend the first and then find no room for the second.
        """
        if not 1 <= room <= self.per_hour - (0 if essential else self.reserve):
            raise ValueError(f"room for {room} requests never comes in this budget")
        with self._lock:
            now = self._now()
            if self._record is not None:
                self._look(self._record, now)
            return self._wait(now, essential=essential, room=room)

    def release(self) -> None:
        """Give back the slots taken and not used, and stamp the used ones exactly.

        On a clean stop: it costs one write, and frees the unused slots for others.
        """
        with self._lock:
            if self._record is None or not self._ahead:
                return
            self._held.clear()
            now = self._now()
            try:
                with self._record.locked():
                    self._record.load(now)
                    self._save(self._record, now)
            except OSError as error:
                log.debug("unused Flume request slots not given back: %s", error)

    def _backoff(self) -> float:
        nominal = min(BACKOFF_MAX, BACKOFF_FIRST * 2.0 ** (self._streak - 1))
        return nominal * (1 - JITTER * self._rng.random())

    def _wait(self, now: float, *, essential: bool, room: int = 1) -> float:
        """Seconds until `room` requests may go (lock held)."""
        self._expire(now)
        # Slots held in the record are ours: `room` of them need no new room.
        shared = sorted([*self._others, *list(self._held)[room:]])
        waits = [
            self._paused_until - now,
            _frees(list(merge(self._sent, shared)), self.per_hour - room, now),
        ]
        if not essential:
            cap = self.per_hour - self.reserve - room
            waits.append(_frees(list(merge(self._calls, shared)), cap, now))
        return max(0.0, *waits)

    def _expire(self, now: float) -> None:
        for sent in (self._sent, self._calls, self._others):
            while sent and sent[0] <= now - HOUR:
                sent.popleft()
        while self._held and self._held[0] < now:
            self._held.popleft()  # its lease ran out unused: never sent

    def _take(self, now: float, *, essential: bool) -> None:
        if self._held:
            self._held.popleft()
        self._sent.append(now)
        if not essential:
            self._calls.append(now)

    def _reserve(self, record: RequestRecord, now: float, *, essential: bool) -> float:
        """Take slots in the record before a request goes; the wait if none (lock held).

        A record that cannot be written leaves the budget of this process alone.
        """
        try:
            with record.locked():
                self._others = deque(record.load(now))
                wait = self._hold(now, essential=essential)
                if wait == 0 or record.damaged:
                    self._save(record, now)
        except OSError as error:
            self._failed_write(record, error)
            return 0.0 if self._held else self._wait(now, essential=essential)
        if self._unrecorded:
            log.info("the Flume request record %s is written again", record.path)
            self._unrecorded = False
        return wait

    def _look(self, record: RequestRecord, now: float) -> None:
        """Read the others' requests; write a damaged record afresh at once."""
        # No lock for a look: the record is replaced whole, never written in place.
        self._others = deque(record.load(now))
        if not record.damaged:
            return
        try:
            with record.locked():
                self._others = deque(record.load(now))
                if record.damaged:  # and not repaired by another process meanwhile
                    self._save(record, now)
        except OSError as error:
            self._failed_write(record, error)

    def _save(self, record: RequestRecord, now: float) -> None:
        record.save(now, [*self._sent, *self._held])
        self._ahead = bool(self._held)

    def _hold(self, now: float, *, essential: bool) -> float:
        """Hold as many slots as fit, up to BLOCK; else the wait for one."""
        most = self.per_hour - (0 if essential else self.reserve)
        for count in range(min(BLOCK, most), 0, -1):
            if self._wait(now, essential=essential, room=count) == 0:
                # Stamped at the end of their lease: never before the request.
                self._held.extend([now + LEASE] * count)
                return 0.0
        return self._wait(now, essential=essential)

    def _failed_write(self, record: RequestRecord, error: OSError) -> None:
        if not self._unrecorded:
            log.warning(
                "could not write the Flume request record %s (%s): this process "
                "keeps its budget, but a restart cannot see its requests",
                record.path,
                error.strerror or type(error).__name__,
            )
        self._unrecorded = True


def _frees(sent: Sequence[float], most: int, now: float) -> float:
    """Seconds until no more than `most` of the times in `sent` are within the hour."""
    if len(sent) <= most:
        return 0.0
    # That is when the request `most` places before the newest is an hour old.
    return sent[len(sent) - most - 1] + HOUR - now

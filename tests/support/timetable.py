"""The service's timetable on a simulated clock, for the soak and the bench.

`schedule` reads the wall clock, so a simulated week cannot run on it; this timetable
runs the real Service's jobs in due order on any clock, and never waits: the driver
moves the clock to `next_due` and turns the loop (`Service.step`).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bridge.service.timetable import Job


@dataclass(order=True)
class _Entry:
    """A job's next run: by time, then in the order the job was added."""

    due: float
    order: int
    job: Job = field(compare=False)
    interval: int | None = field(compare=False)  # None: a one-off retry


class SteppedTimetable:
    """bridge.service.timetable.Timetable on the clock `seconds` (POSIX seconds)."""

    def __init__(self, seconds: Callable[[], float]) -> None:
        self._seconds = seconds
        self._heap: list[_Entry] = []
        self._order = itertools.count()
        self._intervals: dict[str, int] = {}
        self._generation = 0  # a clear() drops what was taken out before it
        self.runs = 0

    @property
    def next_due(self) -> float:
        """When the next job is due (inf without jobs)."""
        return self._heap[0].due if self._heap else math.inf

    def every(self, seconds: int, label: str, job: Job, *, now: bool = False) -> None:
        """Run `job` every `seconds` (the first run now, or after `seconds`)."""
        self._intervals[label] = seconds
        self._push(job, seconds, 0 if now else seconds)

    def once(self, seconds: int, job: Job) -> None:
        """Run `job` once, after `seconds`."""
        self._push(job, None, seconds)

    def interval(self, label: str) -> int | None:
        """The interval of the periodic job `label`, if there is one."""
        return self._intervals.get(label)

    def clear(self) -> None:
        """Forget every job."""
        self._heap.clear()
        self._intervals.clear()
        self._generation += 1

    def run_pending(self) -> None:
        """Run every job due by the clock's now, in due order."""
        while self._heap and self._heap[0].due <= self._seconds():
            entry = heapq.heappop(self._heap)
            generation = self._generation
            self.runs += 1
            entry.job()
            if entry.interval is not None and generation == self._generation:
                entry.due = self._seconds() + entry.interval
                heapq.heappush(self._heap, entry)

    def idle_seconds(self) -> float:
        """Never wait: the driver moves the clock."""
        return 0.0

    def _push(self, job: Job, interval: int | None, after: float) -> None:
        due = self._seconds() + after
        heapq.heappush(self._heap, _Entry(due, next(self._order), job, interval))


class FailedJobs(logging.Handler):
    """Counts the service's failed job runs by error class, from its log."""

    LOGGER = "bridge.service.jobs"

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.by_class: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        """Count a `<label>: <error>` line of Failures.failed (on the jobs' logger)."""
        args = record.args
        if record.msg == "%s: %s" and isinstance(args, tuple) and len(args) == 2:
            self.by_class[type(args[1]).__name__] += 1

    def __enter__(self) -> FailedJobs:
        logger = logging.getLogger(self.LOGGER)
        self._saved = logger.level, logger.propagate
        # Its DEBUG lines stop here: pytest would keep every one of a week's.
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        logger = logging.getLogger(self.LOGGER)
        logger.removeHandler(self)
        logger.setLevel(self._saved[0])
        logger.propagate = self._saved[1]

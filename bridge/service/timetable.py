"""The timetable seam: when each job runs; `schedule` in the service."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Final, Protocol

import schedule

Job = Callable[[], None]
RETRY: Final = "retry"  # the tag of a one-off run
# Any naive datetime: the monotonic clock's seconds are counted from it.
ORIGIN: Final = dt.datetime(2000, 1, 1)  # noqa: DTZ001 (a scale, not an instant)


class Timetable(Protocol):
    """What the service loop asks of its scheduler."""

    def every(self, seconds: int, label: str, job: Job, *, now: bool = False) -> None:
        """Run `job` every `seconds` (the first run now, or after `seconds`)."""

    def once(self, seconds: int, job: Job) -> None:
        """Run `job` once, after `seconds` (a retry); cleared like the rest."""

    def interval(self, label: str) -> int | None:
        """The interval of the periodic job `label`, if there is one."""

    def clear(self) -> None:
        """Forget every job."""

    def run_pending(self) -> None:
        """Run the jobs that are due."""

    def idle_seconds(self) -> float | None:
        """Seconds until the next job is due; None without jobs."""


class MonotonicScheduler(schedule.Scheduler):
    """A `schedule.Scheduler` whose jobs fall due on a monotonic clock.

    `schedule` places jobs in naive local time from `datetime.now()`: the fall-back
    repeats an hour (every job waits it out) and a host clock set at boot moves
    every job (a Pi has no real-time clock). Here the same naive datetimes count
    monotonic seconds instead, which neither DST nor a clock step touches.
    """

    def __init__(self, seconds: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._seconds = seconds

    def now(self) -> dt.datetime:
        """The monotonic clock as a naive datetime, the type `schedule` compares."""
        return ORIGIN + dt.timedelta(seconds=self._seconds())

    def every(self, interval: int = 1) -> schedule.Job:
        """A new job on this scheduler's clock (its `.seconds` are the only unit)."""
        return MonotonicJob(interval, self)

    @property
    def idle_seconds(self) -> float | None:
        """Seconds until the next job is due; None without jobs."""
        due = self.next_run
        return None if due is None else (due - self.now()).total_seconds()


class MonotonicJob(schedule.Job):
    """A `schedule.Job` that is due `interval` seconds of its scheduler's clock on."""

    def __init__(self, interval: int, scheduler: MonotonicScheduler) -> None:
        super().__init__(interval, scheduler)
        self._clock = scheduler

    @property
    def should_run(self) -> bool:
        """Whether the job is due now."""
        return self.next_run is not None and self._clock.now() >= self.next_run

    def _schedule_next_run(self) -> None:
        # schedule's own reads the local wall clock; `last_run` still does, which is
        # only ever read by people.
        self.next_run = self._clock.now() + dt.timedelta(seconds=self.interval)


class ScheduleTimetable:
    """The service's timetable: a `schedule.Scheduler` (DESIGN §6), monotonic."""

    def __init__(self, seconds: Callable[[], float] = time.monotonic) -> None:
        self._scheduler = MonotonicScheduler(seconds)

    def every(self, seconds: int, label: str, job: Job, *, now: bool = False) -> None:
        """Run `job` every `seconds` (the first run now, or after `seconds`)."""
        entry = self._scheduler.every(seconds).seconds.do(job).tag(label)
        if now:
            entry.next_run = self._scheduler.now()

    def once(self, seconds: int, job: Job) -> None:
        """Run `job` once, after `seconds` (a retry); cleared like the rest."""

        def run_once() -> type[schedule.CancelJob]:
            job()
            return schedule.CancelJob

        self._scheduler.every(seconds).seconds.do(run_once).tag(RETRY)

    def interval(self, label: str) -> int | None:
        """The interval of the periodic job `label`, if there is one."""
        found = (e for e in self._scheduler.jobs if label in e.tags)
        return next((int(entry.interval) for entry in found), None)

    def clear(self) -> None:
        """Forget every job."""
        self._scheduler.clear()

    def run_pending(self) -> None:
        """Run the jobs that are due, oldest due first."""
        self._scheduler.run_pending()

    def idle_seconds(self) -> float | None:
        """Seconds until the next job is due; None without jobs."""
        return self._scheduler.idle_seconds

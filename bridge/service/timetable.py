"""The timetable seam: when each job runs; `schedule` in the service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Final, Protocol

import schedule

Job = Callable[[], None]
RETRY: Final = "retry"  # the tag of a one-off run


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


class ScheduleTimetable:
    """The service's timetable: a `schedule.Scheduler` (DESIGN §6)."""

    def __init__(self) -> None:
        self._scheduler = schedule.Scheduler()

    def every(self, seconds: int, label: str, job: Job, *, now: bool = False) -> None:
        """Run `job` every `seconds` (the first run now, or after `seconds`)."""
        entry = self._scheduler.every(seconds).seconds.do(job).tag(label)
        if now:
            entry.next_run = dt.datetime.now()  # noqa: DTZ005 (schedule keeps naive local times)

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

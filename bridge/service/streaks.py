"""Conditions that repeat poll after poll, and failed jobs: one WARNING a streak."""

from __future__ import annotations

import logging


class Streaks:
    """Which repeated conditions are current, so that each is news only once.

    A condition is named by a key (e.g. "no location 123"); `warn` logs at WARNING
    when its streak starts and at DEBUG while it lasts; `clear` ends the streak, so
    the condition coming back is news again.
    """

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._current: set[str] = set()

    def warn(self, key: str, message: str, *args: object) -> None:
        """Log `message` at WARNING if the streak of `key` starts now, else DEBUG."""
        level = logging.DEBUG if key in self._current else logging.WARNING
        self._current.add(key)
        self._log.log(level, message, *args)

    def clear(self, key: str, message: str | None = None, *args: object) -> None:
        """End the streak of `key`; log `message` at INFO if one was current."""
        if key not in self._current:
            return
        self._current.discard(key)
        if message is not None:
            self._log.info(message, *args)


class Failures:
    """The jobs' streak of failures: its first is news, the rest of an outage detail."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self.count = 0  # failed jobs since the last success
        self.last_error: str | None = None

    def failed(self, label: str, error: Exception) -> None:
        """Note a job that failed (it is retried on the schedule)."""
        self.count += 1
        level = logging.WARNING if self.count == 1 else logging.DEBUG
        self._log.log(level, "%s: %s", label, error)
        self.last_error = f"{label}: {error}"

    def crashed(self, label: str) -> None:
        """Note a job that raised what no job should (the loop logs the traceback)."""
        self.last_error = f"{label}: unexpected failure (see the log)"

    def succeeded(self) -> None:
        """Note a job that did its work: a streak of failures is over."""
        if self.count:
            self._log.info("Flume answers again after %d failed jobs", self.count)
        self.count = 0

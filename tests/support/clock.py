"""Time for tests: a clock that moves only when told, and aware UTC instants."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Generic, TypeVar

T = TypeVar("T", float, datetime)


class FakeClock(Generic[T]):
    """A clock (seconds, or an aware datetime) that reads `now`, set by the test."""

    def __init__(self, now: T) -> None:
        self.now: T = now

    def __call__(self) -> T:
        """The time the test set."""
        return self.now


def utc(*parts: int) -> datetime:
    """An aware UTC instant from year, month, day, hour, minute, second."""
    year, month, day, hour, minute, second = parts
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def parse_utc(text: str) -> datetime:
    """A state's `...Z` time as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))

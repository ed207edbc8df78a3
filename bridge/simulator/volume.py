"""Exact cumulative volume of a sensor: household days plus slow leaks, in one sweep."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bridge.simulator.household import UNITS_PER_GALLON, Household


@dataclass(frozen=True, slots=True)
class Leak:
    """A slow leak: [start, end) in whole UTC epoch minutes; end None: still leaking."""

    start: int
    end: int | None
    rate: int  # units (1/256 gallon) per minute

    def covers(self, minute: float) -> bool:
        """Whether water is leaking at `minute`."""
        return self.start <= minute and (self.end is None or minute < self.end)

    def volume_to(self, minute: float) -> float:
        """Units leaked from the leak's start up to `minute`."""
        stop = minute if self.end is None else min(minute, self.end)
        return self.rate * max(0.0, stop - self.start)


def cumulative(
    household: Household, leaks: Sequence[Leak], instants: Sequence[float]
) -> list[float]:
    """Gallons used from an origin up to each instant (sorted epoch minutes).

    The origin is the start of the local day holding the first instant; only
    differences matter. Within a minute flow is uniform, so fractional instants
    prorate.
    """
    if not instants:
        return []
    days = household.days_from(instants[0])
    day = next(days)
    base = 0.0
    out = []
    for minute in instants:
        while minute > day.end:
            base += day.total
            day = next(days)
        leaked = sum(leak.volume_to(minute) for leak in leaks)
        out.append((base + day.volume_at(minute) + leaked) / UNITS_PER_GALLON)
    return out


def volume(
    household: Household, leaks: Sequence[Leak], since: float, until: float
) -> float:
    """Gallons used in [since, until) (epoch minutes, since <= until)."""
    start, stop = cumulative(household, leaks, (since, until))
    return stop - start

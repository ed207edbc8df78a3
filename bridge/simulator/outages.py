"""Upload outages: minutes a Flume Bridge could not send, held back until it can.

Flume can receive minutes hours late: a Bridge buffers what its sensor measured while
its Wi-Fi is down and uploads it when the link returns; the sensor's `last_seen` stays
old meanwhile (issue 13). Our model: during an outage [start, end) the sensor and its
Bridge report `connected: false` with `last_seen` frozen at the start; the minutes
inside are missing from every query answer until `end` plus the data latency, then
appear with their true values. The water itself (`/_sim/truth`) is never changed.
Outages cover whole minutes: the start is rounded down, the end up.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bridge.simulator.timebase import from_minutes


@dataclass(frozen=True, slots=True)
class Outage:
    """An upload outage: [start, end) in whole UTC epoch minutes (end None: open)."""

    device_id: str
    start: int
    end: int | None

    def ongoing(self, now: float) -> bool:
        """Whether the Bridge cannot upload at `now`."""
        return self.start <= now and (self.end is None or now < self.end)

    def holds(self, now: float, latency: float) -> bool:
        """Whether its minutes are still missing from answers at `now`."""
        return self.end is None or now < self.end + latency

    def as_json(self, now: float, latency: float) -> dict[str, object]:
        """The outage as `GET /_sim/outages` lists it."""
        end = None if self.end is None else _iso(self.end)
        return {
            "device_id": self.device_id,
            "since": _iso(self.start),
            "until": end,
            "ongoing": self.ongoing(now),
            "held": self.holds(now, latency),
        }


def _iso(minute: int) -> str:
    return from_minutes(minute).isoformat().replace("+00:00", "Z")


def outage(device_id: str, since: float, until: float | None) -> Outage:
    """An outage over whole minutes from epoch-minute instants; raises ValueError."""
    start = math.floor(since)
    end = None if until is None else math.ceil(until)
    if end is not None and end <= start:
        raise ValueError("an outage must end after it starts")
    return Outage(device_id, start, end)


class OutageBook:
    """Every outage of every sensor; thread-safe."""

    def __init__(self, outages: Sequence[Outage] = ()) -> None:
        self._lock = threading.Lock()
        self._outages = list(outages)

    def add(self, item: Outage) -> None:
        """Record an outage (outages may overlap)."""
        with self._lock:
            self._outages.append(item)

    def release(self, device_id: str, now: float) -> int:
        """End the device's ongoing or future outages at the end of this minute."""
        end = math.ceil(now)
        with self._lock:
            open_ = [o for o in self._outages if o.device_id == device_id]
            changed = [o for o in open_ if o.end is None or o.end > end]
            for item in changed:
                self._outages.remove(item)
                if item.start < end:
                    self._outages.append(Outage(device_id, item.start, end))
            return len(changed)

    def clear(self) -> None:
        """Forget every outage: whatever was held back is visible at once."""
        with self._lock:
            self._outages.clear()

    def all(self) -> list[Outage]:
        """Every outage, in the order they were added."""
        with self._lock:
            return list(self._outages)

    def of(self, device_ids: Sequence[str]) -> list[Outage]:
        """The outages of some devices."""
        return [o for o in self.all() if o.device_id in device_ids]


def frozen_since(outages: Sequence[Outage], now: datetime) -> datetime | None:
    """The start of the earliest ongoing outage: where `last_seen` stays."""
    minute = now.timestamp() / 60
    starts = [o.start for o in outages if o.ongoing(minute)]
    return from_minutes(min(starts)) if starts else None


def held_spans(
    outages: Sequence[Outage], now: float, latency: float
) -> list[tuple[int, int | None]]:
    """The disjoint, sorted spans whose minutes answers leave out at `now`."""
    return merged_spans([o for o in outages if o.holds(now, latency)])


def merged_spans(outages: Sequence[Outage]) -> list[tuple[int, int | None]]:
    """The disjoint, sorted spans the outages cover together."""
    spans = sorted((o.start, o.end) for o in outages)
    merged: list[tuple[int, int | None]] = []
    for start, end in spans:
        if merged and _reaches(merged[-1][1], start):
            last_start, last_end = merged[-1]
            merged[-1] = (last_start, _later(last_end, end))
        else:
            merged.append((start, end))
    return merged


def _reaches(end: int | None, start: int) -> bool:
    return end is None or end >= start


def _later(first: int | None, second: int | None) -> int | None:
    return None if first is None or second is None else max(first, second)


Levels = Callable[[Sequence[float]], list[float]]


def without_spans(levels: Levels, spans: Sequence[tuple[int, int | None]]) -> Levels:
    """Cumulative gallons at sorted instants, not counting water inside `spans`.

    A bucket's value is a difference of two levels, so a held minute reads 0 and a
    series still sums to what is visible, exactly (every level is a dyadic rational).
    """
    if not spans:
        return levels

    def visible(instants: Sequence[float]) -> list[float]:
        points = sorted({*instants, *_clamped(instants, spans)})
        at = dict(zip(points, levels(points), strict=True))
        return [at[x] - _hidden(at, x, spans) for x in instants]

    return visible


def _clamp(x: float, start: int, end: int | None) -> float:
    return max(start, x if end is None else min(x, end))


def _clamped(
    instants: Sequence[float], spans: Sequence[tuple[int, int | None]]
) -> set[float]:
    points: set[float] = set()
    for start, end in spans:
        points.add(start)
        points.update(_clamp(x, start, end) for x in instants)
    return points


def _hidden(
    at: dict[float, float], x: float, spans: Sequence[tuple[int, int | None]]
) -> float:
    return sum(at[_clamp(x, start, end)] - at[start] for start, end in spans)

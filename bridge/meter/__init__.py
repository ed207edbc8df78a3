"""The lifetime counter: each settled minute counted exactly once, kept in STATE_DIR.

Per device the meter holds `since` (the minute it was first seen), `through` (the end
of the newest counted minute) and the gallons in between. A cycle hands it the spans
of Flume's answer (minute and hourly buckets, in any order, overlapping, read again);
it adds, from `through`, the contiguous spans that ended at least `lag` minutes ago,
so a minute whose data may still arrive is left for a later cycle, and a minute read
twice is counted once. Water Flume receives after its minute was counted (late
data) is found by comparing the recent hours read again with what was counted in
them (bridge.meter.recount) and added once; the count never falls. The file is replaced
atomically before `count` returns whenever the gallons changed: a state published
afterwards never has a `total` a restart would not load. Dry minutes only move
`through`, so they are saved at most every SAVE_DRY minutes (and by `flush` at a
stop): most minutes of a home are dry, and each save is an fsync the SD card wears
under. A restart after a power cut or a SIGKILL reads those dry minutes from Flume
again and counts them then, water that reached Flume late included.

Two generations are kept: each save first renames meter.json to meter.json.1 (one
rename, no extra write or fsync for the SD card). A damaged meter.json is set aside
and meter.json.1 loaded; the minutes counted since are read again from Flume
(back-fill). When both are unreadable
the meter starts empty and says so in `lost`: the service then restores the counts
from its own retained states on the broker (`restore`) before it publishes anything.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bridge.errors import FlumeProtocolError
from bridge.meter import recount
from bridge.meter.file import DAMAGE, Reading, dump, floor, read
from bridge.statefile import remove_leftovers, temp_prefix, write_atomic

__all__ = ["LAG_MINUTES", "METER_FILE", "Meter", "Reading", "Span"]

log = logging.getLogger(__name__)

# A minute counts once it ended this long ago (DESIGN's example: 12:34 -> 12:31);
# Flume's data arrives a minute or two late, and a minute read early reads short.
LAG_MINUTES = 3
METER_FILE = "meter.json"
PREVIOUS = METER_FILE + ".1"  # the generation before the current one
MINUTE = timedelta(minutes=1)
SAVE_DRY = timedelta(minutes=15)  # the most `through` runs ahead of meter.json


Span = tuple[datetime, int, float]  # (UTC start, minutes, gallons)


class Meter:
    """Lifetime counters of every device, persisted in STATE_DIR/meter.json."""

    def __init__(self, state_dir: Path, *, lag: int = LAG_MINUTES) -> None:
        self.path = state_dir / METER_FILE
        self.previous = state_dir / PREVIOUS
        self._lag = lag * MINUTE
        self._failing = False  # the last save failed: later failures log at DEBUG
        # False while meter.json is damaged but still in place: rotating it would
        # replace the good previous generation with garbage.
        self._rotate = True
        self.lost = False  # both generations were unreadable: the counts are gone
        self._hours: dict[str, recount.Hours] = {}  # gallons per recent local hour
        self._saved: dict[str, Reading] = {}  # as meter.json holds them
        self._readings = self._load()

    def reading(self, device_id: str) -> Reading | None:
        """The device's count, or None before its first sight."""
        return self._readings.get(device_id)

    def begin(self, device_id: str, minute: datetime) -> Reading:
        """Start counting a new device from the minute holding `minute`."""
        known = self._readings.get(device_id)
        if known is not None:
            return known
        start = floor(minute)
        return self._store(device_id, Reading(0.0, start, start))

    def restore(self, device_id: str, reading: Reading) -> bool:
        """Take a count recovered elsewhere for a device the meter does not know.

        Returns whether it was taken (a device already counted keeps its count).
        """
        if device_id in self._readings:
            return False
        self._store(device_id, reading)
        return True

    def horizon(self, end: datetime) -> datetime:
        """The newest minute end that counts at `end`: `lag` minutes before it."""
        return floor(end) - self._lag

    def count(
        self,
        device_id: str,
        spans: Iterable[Span],
        horizon: datetime,
        tz: str = "UTC",
    ) -> Reading:
        """Add the spans that continue the count up to `horizon`; persist, then return.

        Water the spans show in recent hours beyond what was counted in them (it
        reached Flume late) is added too, once. `tz` is the zone of the location:
        hour spans are its local hours.

        Raises:
            FlumeProtocolError: a span holds negative, infinite or NaN gallons
                (nothing is counted).
            ValueError: the device was never begun, or a span is shorter than a minute.
        """
        reading = self._readings.get(device_id)
        if reading is None:
            raise ValueError(f"device {device_id} is not counted yet: begin() it first")
        checked, zone = _checked(spans), ZoneInfo(tz)
        counted = (reading.since, reading.through)
        hours, late = recount.revise(
            self._hours.get(device_id, {}), checked, counted, zone
        )
        through, added, path = _advance(reading.through, checked, horizon)
        if through == reading.through and not late:
            return reading
        hours = recount.record(hours, path, reading.since, zone)
        hours = recount.prune(hours, horizon)
        gallons = reading.gallons + late + added
        return self._store(device_id, Reading(gallons, reading.since, through), hours)

    def flush(self) -> None:
        """Save the dry minutes not saved yet (at a stop)."""
        if self._saved != self._readings:
            self._save()

    def _store(
        self, device_id: str, reading: Reading, hours: recount.Hours | None = None
    ) -> Reading:
        self._readings[device_id] = reading
        self._hours[device_id] = hours or {}
        if not self._dry(self._saved.get(device_id), reading):
            self._save()
        return reading

    def _dry(self, saved: Reading | None, reading: Reading) -> bool:
        """Whether only dry minutes were counted since the save, and not many."""
        if saved is None or self._failing:
            return False
        same = (saved.gallons, saved.since) == (reading.gallons, reading.since)
        return same and reading.through - saved.through < SAVE_DRY

    def _save(self) -> None:
        try:
            if self._rotate:
                _rename(self.path, self.previous)
            # No directory fsync (one of two a minute): a rename lost to a power cut
            # leaves the file before it, and its minutes are counted again from Flume.
            data = dump(self._readings, self._hours)
            write_atomic(self.path, data, sync_directory=False)
        except OSError as error:
            report = log.debug if self._failing else log.warning
            report(
                "could not save the meter in %s (%s); counting on in memory",
                self.path.parent,
                error.strerror or type(error).__name__,
            )
            self._failing = True
            return
        if self._failing:
            log.info("saved the meter in %s again", self.path.parent)
        self._failing = False
        self._rotate = True
        self._saved = dict(self._readings)

    def _load(self) -> dict[str, Reading]:
        remove_leftovers(self.path.parent, temp_prefix(self.path))
        try:
            self._saved = self._read(self.path)
            return dict(self._saved)
        except FileNotFoundError:
            # Killed between the rotation and the rename: the previous one is newest.
            return self._load_previous(None)
        except DAMAGE as error:
            return self._load_previous(error)

    def _load_previous(self, damage: Exception | None) -> dict[str, Reading]:
        if damage is None:
            problem = f"{METER_FILE} is missing"
        else:
            problem = f"{METER_FILE} is unreadable ({damage}); {self._set_aside()}"
        try:
            readings = self._read(self.previous)
        except FileNotFoundError:
            if damage is not None:  # both missing: a first start, nothing lost
                self._report_lost(f"{problem}; no {PREVIOUS} to fall back on")
            return {}
        except DAMAGE as error:
            self._report_lost(f"{problem}; {PREVIOUS} is unreadable too ({error})")
            return {}
        log.log(
            logging.INFO if damage is None else logging.ERROR,
            "the meter in %s: %s; resumed from %s, the minutes counted after it are "
            "read again from Flume",
            self.path.parent, problem, PREVIOUS,
        )  # fmt: skip
        return readings

    def _report_lost(self, problem: str) -> None:
        self.lost = True
        log.error(
            "the meter in %s: %s; counting afresh (or from the bridge's retained "
            "states on the broker)",
            self.path.parent, problem,
        )  # fmt: skip

    def _read(self, path: Path) -> dict[str, Reading]:
        readings, self._hours = read(path)
        return readings

    def _set_aside(self) -> str:
        aside = self.path.with_name(METER_FILE + ".corrupt")
        try:
            self.path.replace(aside)
        except OSError as move_error:
            self._rotate = False
            return f"could not move it aside: {move_error.strerror}"
        return f"kept it as {aside.name}"


def _rename(path: Path, target: Path) -> None:
    with contextlib.suppress(FileNotFoundError):  # the first save: no generation yet
        path.replace(target)


def _checked(spans: Iterable[Span]) -> list[Span]:
    """The spans sorted by start, once every one is known to be sound."""
    found = list(spans)
    for start, minutes, gallons in found:
        if not (math.isfinite(gallons) and gallons >= 0):
            raise FlumeProtocolError(
                f"{gallons!r} gallons in {minutes} min from {start.isoformat()}"
            )
        if minutes < 1:
            raise ValueError(f"a span of {minutes} minutes from {start.isoformat()}")
    return sorted(found, key=lambda span: (span[0], span[1]))


def _advance(
    through: datetime, spans: list[Span], horizon: datetime
) -> tuple[datetime, float, list[Span]]:
    """The furthest end reachable from `through`, the gallons and spans on the way.

    Only spans that end by `horizon` are taken; `spans` come sorted by start.
    """
    # Every span ending at a start is seen before that start, so one pass suffices.
    reached: dict[datetime, tuple[float, Span | None]] = {through: (0.0, None)}
    for span in spans:
        start, minutes, gallons = span
        end = start + minutes * MINUTE
        if start in reached and end <= horizon and end not in reached:
            reached[end] = (reached[start][0] + gallons, span)
    last = max(reached)
    path: list[Span] = []
    step = reached[last][1]
    while step is not None:
        path.append(step)
        step = reached[step[0]][1]
    return last, reached[last][0], path[::-1]

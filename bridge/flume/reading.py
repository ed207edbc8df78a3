"""Reading the batched usage answer: each field on its own, and what it teaches.

A window Flume left out or that cannot be read (malformed, a bucket that cannot be
placed, a negative or non-finite volume) costs only its own field: its value is left
out (published as null) and, for a series the meter counts, none of its minutes are
counted. Each field's trouble is logged at WARNING once per streak (DEBUG while it
lasts, INFO when it reads again). The answers also show what the server ignores
(grouping, order), for bridge.flume.dialect to learn.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bridge.errors import FlumeProtocolError
from bridge.flume.buckets import asked_newest_first, buckets, value
from bridge.flume.dialect import Dialect
from bridge.flume.placement import orders
from bridge.flume.windows import Window
from bridge.models import Answer, Point

log = logging.getLogger(__name__)

# Counted minute by minute (or hour by hour), and read again for late data.
SERIES = ("minutes", "backfill_minutes", "backfill", "recount")
MINUTE = timedelta(minutes=1)
Span = tuple[datetime, int, float]  # (UTC start, minutes, gallons), as bridge.meter


@dataclass(slots=True)
class Read:
    """What one answer gives: values, the meter's spans, problems and lessons."""

    values: dict[str, float] = field(default_factory=dict)
    spans: list[Span] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # field -> why not
    lessons: dict[str, object] = field(default_factory=dict)  # for Habits.learn


def read(
    windows: Sequence[Window],
    answer: Mapping[str, Sequence[Point]],
    dialect: Dialect = Dialect(),  # noqa: B008 (frozen, so a shared default is safe)
) -> Read:
    """Read every field of the batch from its windows (a field may have parts).

    The answer's order is told by the first series whose labels fit one order only
    (the minutes series: distinct labels). It decides the buckets whose labels fit
    both, like the two groups of a repeated fall-back hour, both labelled 01:00.
    """
    found = Read()
    told = _told(windows, answer, dialect)
    if told != dialect:
        found.lessons.update(sorting=False, newest_first=told.newest_first)
        dialect = told
    problems = answer.problems if isinstance(answer, Answer) else {}
    fields: dict[str, list[Window]] = {}
    for window in windows:
        fields.setdefault(window.field, []).append(window)
    for name, parts in fields.items():
        try:
            _read_field(name, parts, answer, problems, dialect, found)
        except FlumeProtocolError as error:
            found.problems[name] = str(error)
    return found


def _read_field(
    name: str,
    parts: list[Window],
    answer: Mapping[str, Sequence[Point]],
    problems: Mapping[str, str],
    dialect: Dialect,
    found: Read,
) -> None:
    answers = [_points(window, answer, problems) for window in parts]
    amounts = []
    for window, points in zip(parts, answers, strict=True):
        # Placed once, for the lessons and the value or the spans alike.
        placed = _placed(name, window, points, dialect)
        found.lessons.update(_lessons(window, points, placed))
        if name in SERIES:
            found.spans += [(start, window.step, g) for start, g in placed or ()]
        elif placed is None:
            amounts.append(value(window, points, dialect))
        else:
            amounts.append(math.fsum(gallons for _, gallons in placed))
    if name not in SERIES:
        found.values[name] = math.fsum(amounts)


def _placed(
    name: str, window: Window, points: Sequence[Point], dialect: Dialect
) -> list[tuple[datetime, float]] | None:
    """The buckets of a series the field needs placed; None for a SUM or a total."""
    if window.first_bucket is None:
        return None
    if name not in SERIES and not any(point.datetime for point in points):
        return None  # summed as it came, or by position (bridge.flume.buckets.value)
    return buckets(window, points, dialect)


def _points(
    window: Window, answer: Mapping[str, Sequence[Point]], problems: Mapping[str, str]
) -> Sequence[Point]:
    rid = window.request_id
    points = answer.get(rid)
    if points is None:
        raise FlumeProtocolError(problems.get(rid) or f"query {rid}: missing in answer")
    for point in points:
        if not (math.isfinite(point.value) and point.value >= 0):
            raise FlumeProtocolError(f"query {rid}: {point.value!r} gallons")
    return points


def _told(
    windows: Sequence[Window], answer: Mapping[str, Sequence[Point]], dialect: Dialect
) -> Dialect:
    """The dialect, with the order this answer shows when it is not the one asked."""
    for window in windows:
        points = answer.get(window.request_id) or ()
        labels = [point.datetime for point in points]
        if window.first_bucket is None or not labels or not all(labels):
            continue
        fits = orders(labels, ZoneInfo(window.tz), window.first_bucket)
        if len(fits) != 1:
            continue
        if fits[0] == asked_newest_first(window, dialect):
            return dialect
        return dataclasses.replace(dialect, sorting=False, newest_first=fits[0])
    return dialect


def _lessons(
    window: Window, points: Sequence[Point], placed: list[tuple[datetime, float]] | None
) -> dict[str, object]:
    """What a labelled series answer shows the server ignores."""
    labels = [point.datetime for point in points]
    if placed is None or len(points) < 2 or not all(labels):
        return {}
    lessons: dict[str, object] = {}
    if window.step > 1 and _finer([start for start, _ in placed], window.step):
        lessons["grouping"] = False
    return lessons


def _finer(placed: list[datetime], step: int) -> bool:
    """Whether buckets lie closer together than the groups asked for."""
    ordered = sorted(placed)
    return any(b - a < step * MINUTE for a, b in itertools.pairwise(ordered))


class FieldWatch:
    """One WARNING per streak of an unreadable field, per device; INFO at its end."""

    def __init__(self) -> None:
        self._failing: set[tuple[str, str]] = set()

    def note(self, device_id: str, fields: Sequence[str], found: Read) -> None:
        """Log what changed for each of `fields` of a device in this answer."""
        for name in fields:
            key = (device_id, name)
            problem = found.problems.get(name)
            if problem is not None:
                level = logging.DEBUG if key in self._failing else logging.WARNING
                log.log(level, "%s of %s unreadable: %s", name, device_id, problem)
                self._failing.add(key)
            elif key in self._failing:
                self._failing.discard(key)
                log.info("%s of %s reads again", name, device_id)

"""Where Flume's buckets lie: each `datetime` label read as a UTC instant, DST-aware.

A series bucket is labelled with the naive local wall time of its start (flume-api.md
§4.1, §4.2). A label names one instant, except in the hour repeated at a fall-back
(two instants) and the hour skipped at a spring-forward (none). Labels are read in
time order: as they come in an ascending answer, reversed in a descending one. Each
bucket then takes the earliest instant its label names after the bucket before it;
the first takes the earliest at or after where the series was asked to start. So
the two "01:30" of a fall-back night are the first and then the second occurrence,
in either order of answer, grouped or one per minute. A label that names no instant,
or none after its predecessor (out of order, or the same unambiguous label twice),
stays unplaced. The order is the one expected if the labels can be placed so, else
the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

_LENGTH = len("2026-11-28 12:34:00")  # a label: %Y-%m-%d %H:%M:%S, local wall time
# Labels recur from one poll to the next (the trailing series slide a minute a poll),
# and each answer is placed in both orders: a poll reads some 110 distinct labels,
# almost all of them read the poll before. strptime was half the poll's CPU.
KNOWN_LABELS = 512


def wall(label: str) -> datetime | None:
    """The naive wall time of a label, or None if it is not one."""
    # fromisoformat is some twenty times faster than strptime; it also takes other
    # ISO forms, so only a label of the exact length, with its space, is handed to it.
    if len(label) != _LENGTH or label[10] != " ":
        return None
    try:
        naive = datetime.fromisoformat(label)
    except ValueError:
        return None
    return naive if naive.tzinfo is None else None


@lru_cache(maxsize=KNOWN_LABELS)
def instants(label: str, zone: ZoneInfo) -> tuple[datetime, ...]:
    """Every UTC instant a label names in `zone`: none, one, or two (a fall-back)."""
    naive = wall(label)
    if naive is None:
        return ()
    first = naive.replace(tzinfo=zone).astimezone(UTC)
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return (first,)  # the folds agree: neither repeated nor skipped (most labels)
    # A wall time in a spring-forward gap maps to instants that read back otherwise.
    real = [
        t for t in (first, second) if t.astimezone(zone).replace(tzinfo=None) == naive
    ]
    return tuple(sorted(real))


def placed(
    labels: Sequence[str | None], zone: ZoneInfo, first: datetime, *, expected: bool
) -> tuple[list[datetime | None], bool]:
    """Each labelled bucket's UTC start (None if unplaceable); newest first or not.

    The order expected is tried first, then the other: a series read in the wrong
    order runs backwards and cannot be placed (only a series whose labels are all
    one, a single bucket or a fall-back hour's pair, fits both ways).
    """
    tried = []
    for newest_first in (expected, not expected):
        found = place(labels, zone, first, newest_first=newest_first)
        if all(
            start is not None
            for start, label in zip(found, labels, strict=True)
            if label
        ):
            return found, newest_first
        tried.append(found)
    return tried[0], expected


def orders(labels: Sequence[str | None], zone: ZoneInfo, first: datetime) -> list[bool]:
    """The orders (newest first or not) in which every label can be placed."""
    return [
        newest_first
        for newest_first in (False, True)
        if all(
            start is not None
            for start, label in zip(
                place(labels, zone, first, newest_first=newest_first),
                labels,
                strict=True,
            )
            if label
        )
    ]


def place(
    labels: Sequence[str | None],
    zone: ZoneInfo,
    first: datetime,
    *,
    newest_first: bool,
) -> list[datetime | None]:
    """The UTC start of each labelled bucket (None where it cannot be placed).

    Args:
        labels: the buckets' `datetime` labels, in the answer's order.
        zone: the zone the labels are wall times of.
        first: where the series was asked to start (the fold-0 instant of `since`).
        newest_first: whether the answer runs newest first (see `descending`).
    """
    return list(_place(tuple(labels), zone, first, newest_first))


# Reading one answer places each series up to four times (its order, its buckets, the
# lessons it teaches, its value): the same labels, so the same result.
@lru_cache(maxsize=16)
def _place(
    labels: tuple[str | None, ...], zone: ZoneInfo, first: datetime, newest_first: bool
) -> tuple[datetime | None, ...]:
    order = range(len(labels) - 1, -1, -1) if newest_first else range(len(labels))
    placed: list[datetime | None] = [None] * len(labels)
    previous: datetime | None = None
    for k in order:
        label = labels[k]
        options = instants(label, zone) if label else ()
        chosen = _choose(options, previous, first)
        placed[k] = chosen
        previous = chosen or previous
    return tuple(placed)


def _choose(
    options: tuple[datetime, ...], previous: datetime | None, first: datetime
) -> datetime | None:
    if len(options) == 1:  # most labels: the one instant, if it is after the previous
        only = options[0]
        return only if previous is None or only > previous else None
    if previous is None:
        later = [t for t in options if t >= first]
        # A bucket before `first` is still placed: the window drops it as surplus.
        return later[0] if later else (options[-1] if options else None)
    after = [t for t in options if t > previous]
    return after[0] if after else None

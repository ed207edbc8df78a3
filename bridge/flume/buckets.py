"""Reading a series answer: each bucket where its label puts it, inside its window.

Labelled buckets are placed by bridge.flume.placement; a series without any label by
position, when the server is known to answer in the order asked. Buckets outside the
window (the surplus before a repeated wall time, the bucket in progress) are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bridge.errors import FlumeProtocolError
from bridge.flume.dialect import Dialect
from bridge.flume.placement import instants, placed
from bridge.flume.windows import DOCUMENTED, Window
from bridge.models import Point

MINUTE = timedelta(minutes=1)


def value(
    window: Window, points: Sequence[Point], dialect: Dialect = DOCUMENTED
) -> float:
    """Gallons in the window, from Flume's answer to its query.

    Raises:
        FlumeProtocolError: the answer does not have the shape the query asks for.
    """
    if window.first_bucket is None:
        if len(points) > 1:
            raise FlumeProtocolError(
                f"query {window.request_id}: a SUM came back as {len(points)} values"
            )
        return points[0].value if points else 0.0
    if _whole(window, points):
        # Unlabelled, but every bucket lies in the window: the order is immaterial.
        return math.fsum(point.value for point in points)
    return math.fsum(gallons for _, gallons in buckets(window, points, dialect))


def buckets(
    window: Window, points: Sequence[Point], dialect: Dialect = DOCUMENTED
) -> list[tuple[datetime, float]]:
    """A series window's buckets inside [start, end): (UTC start, gallons), in order.

    Labelled buckets are placed by their labels (bridge.flume.placement); a series
    with no labels at all by position from `first_bucket`, one `step` each, when the
    server is known to answer in the order asked.

    Raises:
        FlumeProtocolError: a bucket cannot be placed for certain.
    """
    if window.first_bucket is None:
        raise ValueError(f"{window.request_id} is summed by Flume, not a series")
    kept = _unrepeated(points, ZoneInfo(window.tz))
    found = [
        (start, point.value)
        for start, point in zip(starts(window, kept, dialect), kept, strict=True)
        if window.start <= start < window.end
    ]
    return sorted(found, key=lambda bucket: bucket[0])


def starts(
    window: Window, points: Sequence[Point], dialect: Dialect = DOCUMENTED
) -> list[datetime]:
    """Where each bucket of a series answer starts (UTC), in the answer's order.

    Raises:
        FlumeProtocolError: a bucket cannot be placed for certain.
    """
    first = window.first_bucket
    if first is None:
        raise ValueError(f"{window.request_id} is summed by Flume, not a series")
    labels = [point.datetime for point in points]
    if not any(labels):
        if not dialect.sorting:
            raise FlumeProtocolError(
                f"query {window.request_id}: buckets without labels, in an order "
                "the server does not keep"
            )
        return [first + k * window.step * MINUTE for k in range(len(points))]
    found, _ = placed(
        labels, ZoneInfo(window.tz), first, expected=asked_newest_first(window, dialect)
    )
    for k, start in enumerate(found):
        if start is None:
            raise FlumeProtocolError(
                f"query {window.request_id}: bucket {k} labelled {labels[k]!r} "
                "cannot be placed"
            )
    return [start for start in found if start is not None]


def asked_newest_first(window: Window, dialect: Dialect) -> bool:
    """The order the answer to a window is expected in."""
    if not dialect.sorting:
        return dialect.newest_first
    return window.query.get("sort_direction") == "DESC"


def _unrepeated(points: Sequence[Point], zone: ZoneInfo) -> list[Point]:
    """The points less a bucket repeated at once (same label and value).

    Only an unambiguous repeat is dropped: the two buckets of a repeated fall-back
    hour carry one label and may hold the same water.
    """
    kept: list[Point] = []
    for point in points:
        label = point.datetime
        repeat = bool(kept) and point == kept[-1] and label is not None
        if repeat and label is not None and len(instants(label, zone)) == 1:
            continue
        kept.append(point)
    return kept


def _whole(window: Window, points: Sequence[Point]) -> bool:
    """Whether an unlabelled answer lies wholly in the window (nothing to drop)."""
    unlabelled = all(point.datetime is None for point in points)
    exact = window.first_bucket == window.start and "until_datetime" in window.query
    return unlabelled and exact

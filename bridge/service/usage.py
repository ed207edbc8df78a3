"""A sensor's usage poll: its zone, the batched query, the counted minutes, the flow."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bridge.errors import FlumeProtocolError
from bridge.flume.client import FlumeClient
from bridge.flume.windows import Window, buckets, queries, usage_windows, value
from bridge.meter import Meter, Reading, Span
from bridge.models import Device, Point, Usage
from bridge.service.streaks import Streaks

log = logging.getLogger(__name__)

SERIES = ("minutes", "backfill")  # the windows the meter counts minute by minute
MINUTE = timedelta(minutes=1)
FALLBACK_TZ = "UTC"


def zone_of(device: Device, streaks: Streaks | None = None) -> str:
    """The device's location time zone; UTC (with a warning) when Flume gives none.

    With `streaks`, the warning is logged once per streak of polls without one.
    """
    key = f"no location {device.id}"
    if device.location is not None:
        if streaks is not None:
            streaks.clear(key, "device %s has a location again", device.id)
        return device.location.tz
    (streaks or Streaks(log)).warn(
        key, "device %s has no location: its windows use UTC", device.id
    )
    return FALLBACK_TZ


def poll(
    client: FlumeClient,
    meter: Meter,
    device: Device,
    now: datetime,
    streaks: Streaks | None = None,
) -> Usage:
    """Query a sensor's windows (one request), count settled minutes, return usage.

    Raises:
        FlumeError: the query failed or its answer is unusable; nothing is counted.
    """
    reading = meter.reading(device.id) or meter.begin(device.id, now)
    zone = zone_of(device, streaks)
    windows = usage_windows(now, zone, counted_through=reading.through)
    values, spans = read(windows, client.query(device.id, queries(windows)))
    end = windows[0].end
    horizon = meter.horizon(end)
    reading = meter.count(device.id, spans, horizon)
    return Usage(
        updated_at=end,
        windows=values,
        flow_gpm=flow(spans, horizon),
        total_gallons=reading.gallons,
        total_since=reading.since,
        total_through=reading.through,
    )


def counted(reading: Reading, now: datetime) -> Usage:
    """The meter's count as usage, every window and the flow unknown."""
    return Usage(
        updated_at=now,
        windows={},
        flow_gpm=None,
        total_gallons=reading.gallons,
        total_since=reading.since,
        total_through=reading.through,
    )


def read(
    windows: Sequence[Window], answer: Mapping[str, list[Point]]
) -> tuple[dict[str, float], list[Span]]:
    """The summed windows in gallons, and the counted series as spans.

    Raises:
        FlumeProtocolError: a window is missing from the answer or malformed.
    """
    values: dict[str, float] = {}
    spans: list[Span] = []
    for window in windows:
        points = answer.get(window.request_id)
        if points is None:
            raise FlumeProtocolError(f"query {window.request_id}: missing in answer")
        if window.request_id in SERIES:
            spans += [(start, window.step, g) for start, g in buckets(window, points)]
        else:
            values[window.request_id] = value(window, points)
    return values, spans


def flow(spans: Sequence[Span], horizon: datetime) -> float | None:
    """Gallons a minute: the water of the newest settled minute, if it was read."""
    newest = horizon - MINUTE
    for start, minutes, gallons in spans:
        if start == newest and minutes == 1:
            return gallons
    return None

"""A sensor's usage poll: its zone, the batched query, the counted minutes, the flow."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from bridge.errors import FlumeProtocolError
from bridge.flume.client import FlumeClient
from bridge.flume.reading import read as reading_of
from bridge.flume.windows import Window, queries, usage_windows
from bridge.meter import Meter, Reading, Span
from bridge.models import Answer, Device, Point, Usage
from bridge.service.streaks import Streaks

log = logging.getLogger(__name__)

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

    A window that cannot be read costs only its own field (null) and its minutes.

    Raises:
        FlumeError: the query failed or its whole answer is unusable; nothing is
            counted.
    """
    reading = meter.reading(device.id) or meter.begin(device.id, now)
    seen = last_seen(device)
    # While held at last_seen the meter cannot advance: no minutes series back to
    # its count nor back-fill (a sensor dead for a month would ask 31 days a cycle).
    through = reading.through if seen is None else None
    windows, answer = ask(client, device, now, through, streaks)
    found = reading_of(windows, answer, client.habits.dialect)
    client.habits.learn(**found.lessons)
    client.watch.note(device.id, list(dict.fromkeys(w.field for w in windows)), found)
    end = windows[0].end
    horizon = meter.horizon(end) if seen is None else min(meter.horizon(end), seen)
    reading = meter.count(device.id, found.spans, horizon, windows[0].tz)
    return Usage(
        updated_at=end,
        windows=found.values,
        flow_gpm=flow(found.spans, horizon),
        total_gallons=reading.gallons,
        total_since=reading.since,
        total_through=reading.through,
        spans=tuple(found.spans),
    )


def last_seen(device: Device) -> datetime | None:
    """For a disconnected sensor, the minute start no settled minute may pass.

    Its Flume Bridge may still hold the later minutes and upload them hours late
    (`connected` and `last_seen` from the devices list, flume-api.md §3.1); they are
    counted once it is listed connected again, by the back-fill if need be.
    """
    if device.connected is not False or device.last_seen is None:
        return None
    return device.last_seen.astimezone(UTC).replace(second=0, microsecond=0)


def ask(
    client: FlumeClient,
    device: Device,
    now: datetime,
    through: datetime | None,
    streaks: Streaks | None = None,
) -> tuple[tuple[Window, ...], Answer]:
    """The windows at `now` and Flume's answer.

    Asked again only when a refusal taught a limit (the windows are cut anew), so
    the same request is never sent twice.
    """
    zone = zone_of(device, streaks)
    while True:
        dialect = client.habits.dialect
        windows = usage_windows(now, zone, counted_through=through, dialect=dialect)
        try:
            return windows, client.query(device.id, queries(windows))
        except FlumeProtocolError:
            if client.habits.dialect == dialect:
                raise


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
    """The readable windows in gallons, and the counted series as spans."""
    found = reading_of(windows, answer)
    return found.values, found.spans


def flow(spans: Sequence[Span], horizon: datetime) -> float | None:
    """Gallons a minute: the water of the newest settled minute, if it was read."""
    newest = horizon - MINUTE
    for start, minutes, gallons in spans:
        if start == newest and minutes == 1:
            return gallons
    return None

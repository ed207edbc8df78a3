"""From Flume's `data` lists to bridge.models: validate, join, and fill the gaps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import TypeVar

from bridge.errors import FlumeProtocolError
from bridge.flume.schema import (
    ActiveFlowData,
    DeviceData,
    LeakData,
    LocationData,
    NotificationData,
    PointData,
    QueryData,
    UsageAlertData,
    first,
    parse,
    parse_all,
)
from bridge.models import (
    Answer,
    Device,
    FlowReading,
    Location,
    Notification,
    Point,
    UsageAlert,
)

T = TypeVar("T")


def location(data: LocationData) -> Location:
    """A Location; one without a name is called after its id."""
    return Location(
        id=data.id,
        name=data.name or f"Location {data.id}",
        tz=data.tz,
        away_mode=data.away_mode,
    )


def one_location(items: Sequence[object]) -> Location:
    """`data[0]` of GET /users/{uid}/locations/{lid}."""
    return location(parse(LocationData, first(items, "location"), "location"))


def locations(items: Sequence[object]) -> list[Location]:
    """The locations of GET /users/{uid}/locations."""
    return [location(d) for d in parse_all(LocationData, items, "locations")]


def devices(items: Sequence[object], places: Sequence[Location]) -> list[Device]:
    """Devices joined to `places` on location_id, the embedded location as fallback.

    Flume sometimes leaves `location` out of the device list even when asked for it
    (HA #77739, #116798), so the separate locations list is the primary source.
    """
    by_id = {place.id: place for place in places}
    listed = []
    for data in parse_all(DeviceData, items, "devices"):
        embedded = location(data.location) if data.location is not None else None
        joined = by_id.get(data.location_id) if data.location_id is not None else None
        listed.append(
            Device(
                id=data.id,
                type=data.type,
                location_id=data.location_id,
                location=joined or embedded,
                bridge_id=data.bridge_id,
                connected=data.connected,
                last_seen=data.last_seen.astimezone(UTC) if data.last_seen else None,
                battery_level=data.battery_level,
                product=data.product,
            )
        )
    return listed


def series(items: Sequence[object]) -> Answer:
    """`data[0]` of a query: each request id's points, each series on its own.

    Raises:
        FlumeProtocolError: `data[0]` is not an object of series at all.
    """
    what = "query"
    result = parse(QueryData, {"series": first(items, what)}, what)
    answer = Answer()
    for request_id, raw in result.series.items():
        try:
            points = parse_all(PointData, _listed(raw, request_id), request_id)
        except FlumeProtocolError as error:
            answer.problems[request_id] = str(error)
            continue
        answer[request_id] = [Point(p.datetime, float(p.value)) for p in points]
    return answer


def _listed(raw: object, request_id: str) -> list[object]:
    if not isinstance(raw, list):
        raise FlumeProtocolError(f"{request_id}: malformed (not a list of buckets)")
    return raw


def flow(items: Sequence[object]) -> FlowReading:
    """`data[0]` of query/active."""
    data = parse(ActiveFlowData, first(items, "active flow"), "active flow")
    return FlowReading(active=data.active, gpm=float(data.gpm), datetime=data.datetime)


def leak(items: Sequence[object]) -> bool:
    """`data[0].active` of leaks/active."""
    return parse(LeakData, first(items, "leaks"), "leaks").active


def _extra(extra: dict[str, object] | None, key: str, kind: type[T]) -> T | None:
    """A field of a notification's free-form `extra`, if it has the right type."""
    value = (extra or {}).get(key)
    return value if isinstance(value, kind) else None


def notifications(items: Sequence[object]) -> list[Notification]:
    """Notifications, in the order Flume listed them."""
    return [
        Notification(
            id=data.id,
            created_at=data.created_datetime.astimezone(UTC),
            device_id=data.device_id,
            type=data.type,
            title=data.title,
            message=data.message,
            read=data.read,
            rule=_extra(data.extra, "event_rule_name", str),
            connected=_extra(data.extra, "connected", bool),
        )
        for data in parse_all(NotificationData, items, "notifications")
    ]


def usage_alerts(items: Sequence[object]) -> list[UsageAlert]:
    """Usage alerts, in the order Flume listed them."""
    return [
        UsageAlert(
            id=data.id,
            triggered_at=data.triggered_datetime.astimezone(UTC),
            device_id=data.device_id,
            leak=data.flume_leak,
            rule=data.event_rule_name,
        )
        for data in parse_all(UsageAlertData, items, "usage alerts")
    ]

"""Parsing Flume's data: unknown and missing optional fields tolerated, types strict."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.errors import FlumeProtocolError
from bridge.flume import convert
from bridge.flume.client import safe_next
from bridge.flume.http import envelope_of
from bridge.flume.schema import Envelope, Pagination, parse
from bridge.models import Location

LOCATION = {"id": 7, "name": "Home", "tz": "Europe/Berlin", "away_mode": False}
DEVICE = {
    "id": "6248148189204194987",
    "type": 2,
    "location_id": 7,
    "bridge_id": "6248148189204194000",
    "connected": True,
    "last_seen": "2026-03-10T18:29:40.000Z",
    "battery_level": "high",
    "product": "flume2",
}
NOTIFICATION = {
    "id": 1,
    "device_id": "6248148189204194987",
    "type": 1,
    "title": "High Flow Alert",
    "message": "Water is flowing.",
    "created_datetime": "2026-03-10T13:37:00.000Z",
    "read": False,
    "extra": {"event_rule_name": "High Flow Alert"},
}
ALERT = {
    "id": 2,
    "device_id": "6248148189204194987",
    "triggered_datetime": "2026-03-10T13:37:00.000Z",
    "flume_leak": True,
    "event_rule_name": "Flume Smart Leak Alert",
}

Converter = Callable[[Sequence[object]], object]
CONVERTERS: dict[str, Converter] = {
    "locations": convert.locations,
    "devices": lambda items: convert.devices(items, []),
    "series": convert.series,
    "flow": convert.flow,
    "leak": convert.leak,
    "notifications": convert.notifications,
    "usage_alerts": convert.usage_alerts,
}


def test_unknown_fields_are_ignored() -> None:
    """Fields Flume may add later change nothing."""
    extra = {"oriented": True, "supports_ap": True, "user": {"id": 1}, "new": [1]}
    (device,) = convert.devices([{**DEVICE, **extra}], [])
    assert device.id == DEVICE["id"]
    assert device.last_seen == datetime(2026, 3, 10, 18, 29, 40, tzinfo=UTC)


def test_only_id_and_type_are_required_of_a_device() -> None:
    """A bare device (as in HA #116798) still converts, its unknowns None."""
    (device,) = convert.devices([{"id": "1", "type": 1}], [])
    assert (device.location, device.battery_level, device.connected) == (
        None,
        None,
        None,
    )


def test_the_locations_list_wins_over_the_embedded_location() -> None:
    """The joined location comes from GET /locations; embedded is only a fallback."""
    listed = Location(7, "Cabin", "America/Denver")
    embedded = {**DEVICE, "location": LOCATION}
    assert convert.devices([embedded], [listed])[0].location == listed
    fallback = convert.devices([embedded], [])[0].location
    assert fallback == Location(7, "Home", "Europe/Berlin", away_mode=False)


def test_a_location_without_a_name_is_named_after_its_id() -> None:
    """A nameless location still gets a readable name."""
    (place,) = convert.locations([{"id": 9, "tz": "UTC"}])
    assert place.name == "Location 9"


@pytest.mark.parametrize(
    ("name", "items"),
    [
        ("devices", [{**DEVICE, "id": 6248148189204194987}]),  # a number, not a string
        ("devices", [{"type": 2}]),  # no id
        ("devices", [{**DEVICE, "connected": "yes"}]),
        ("devices", [{**DEVICE, "last_seen": "2026-03-10 18:29:40"}]),  # naive
        ("locations", [{**LOCATION, "tz": "Mars/Olympus"}]),
        ("locations", [{"id": 7, "name": "Home"}]),  # no tz
        ("series", [["today"]]),  # one bad series costs only itself: test_query_answers
        ("flow", [{"active": 1, "gpm": 0.5}]),
        ("leak", [{}]),
        ("notifications", [{**NOTIFICATION, "id": "1"}]),
        ("usage_alerts", [{**ALERT, "triggered_datetime": None}]),
    ],
)
def test_malformed_items_are_protocol_errors(name: str, items: list[object]) -> None:
    """Wrong types and missing required fields reject the answer as transient."""
    with pytest.raises(FlumeProtocolError, match="malformed"):
        CONVERTERS[name](items)


@pytest.mark.parametrize("name", ["series", "flow", "leak"])
def test_empty_data_where_one_item_is_expected_is_a_protocol_error(name: str) -> None:
    """An empty `data` for a query, flow or leak answer is a typed failure."""
    with pytest.raises(FlumeProtocolError, match="empty data"):
        CONVERTERS[name]([])


@pytest.mark.parametrize("name", ["devices", "locations", "notifications"])
def test_empty_data_of_a_listing_is_an_empty_list(name: str) -> None:
    """An empty listing is just empty."""
    assert CONVERTERS[name]([]) == []


def test_messages_name_the_field_not_its_value() -> None:
    """A malformed field is named by its path; its value (maybe a token) is not."""
    with pytest.raises(FlumeProtocolError) as caught:
        convert.notifications([NOTIFICATION, {**NOTIFICATION, "title": ["secret-x"]}])
    assert "notifications[1]: malformed (title:" in str(caught.value)
    assert "secret-x" not in str(caught.value)
    assert caught.value.__cause__ is None


def test_notifications_and_alerts_convert() -> None:
    """A notification keeps its rule name; an alert its leak flag; times are UTC."""
    (note,) = convert.notifications([NOTIFICATION])
    (alert,) = convert.usage_alerts([ALERT])
    assert note.rule == "High Flow Alert"
    assert note.created_at == datetime(2026, 3, 10, 13, 37, tzinfo=UTC)
    assert (alert.leak, alert.rule) == (True, "Flume Smart Leak Alert")


@pytest.mark.parametrize(
    ("link", "followed"),
    [
        ("/users/1/notifications?offset=50&limit=50", True),
        (None, False),
        ("https://elsewhere.example/users/1", False),
        ("//elsewhere.example/users/1", False),
        ("users/1", False),
    ],
)
def test_only_pagination_paths_on_this_api_are_followed(
    link: str | None, followed: bool
) -> None:
    """The bearer token is never sent to a host named by `pagination.next`."""
    assert safe_next(link) == (link if followed else None)


def test_an_envelope_saying_it_failed_is_refused() -> None:
    """A 2xx whose envelope has success false is a protocol error."""
    document = {"success": False, "message": "odd", "data": []}
    with pytest.raises(FlumeProtocolError, match="success is false") as caught:
        envelope_of(document, "GET /x", 200)
    assert caught.value.status == 200
    page = {"success": True, "data": [1], "pagination": {"next": "/p?offset=1"}}
    assert envelope_of(page, "GET /x").pagination == Pagination(next="/p?offset=1")


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=10)
    | st.sampled_from(["2026-03-10T13:37:00Z", "UTC", "6248148189204194987"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from([*DEVICE, *NOTIFICATION, *ALERT, "tz", "value", "gpm"])
            | st.text(max_size=5),
            inner,
            max_size=6,
        )
    ),
    max_leaves=20,
)


def valid_or_protocol_error(call: Callable[[], object]) -> None:
    try:
        call()
    except FlumeProtocolError as error:
        json.dumps(str(error))  # a plain, printable message


@settings(max_examples=300, deadline=None)
@given(junk=JSON, name=st.sampled_from(sorted(CONVERTERS)))
def test_junk_never_escapes_as_anything_but_a_protocol_error(
    junk: Any, name: str
) -> None:
    """Whatever JSON arrives, a converter gives models or a FlumeProtocolError."""
    items = junk if isinstance(junk, list) else [junk]
    valid_or_protocol_error(lambda: CONVERTERS[name](items))


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(sorted(DEVICE)), value=JSON)
def test_a_device_with_one_junk_field_converts_or_is_refused(
    key: str, value: Any
) -> None:
    """Any value in any device field gives a Device or a FlumeProtocolError."""
    valid_or_protocol_error(lambda: convert.devices([{**DEVICE, key: value}], []))


@settings(max_examples=200, deadline=None)
@given(junk=JSON)
def test_junk_envelopes_are_protocol_errors(junk: Any) -> None:
    """An answer that is not Flume's envelope is a FlumeProtocolError."""
    valid_or_protocol_error(lambda: parse(Envelope, junk, "GET /x"))

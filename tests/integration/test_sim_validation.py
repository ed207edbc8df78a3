"""Every validation error of the list routes: Flume's 400 code 94 and its details."""

from __future__ import annotations

import pytest
import requests

SORT_DIRECTION = "Sort direction is not a valid direction {ASC/DESC}"

CASES = [
    # (route under /users/{uid}, query string, expected `detailed`)
    ("/devices", "limit=0", ["Provide a positive limit"]),
    ("/devices", "limit=ten", ["Provide a positive limit"]),
    ("/devices", "offset=-1", ["Provide a positive offset"]),
    ("/devices", "offset=x", ["Provide a positive offset"]),
    ("/devices", "sort_field=colour", ["Sort field [colour] is not a valid field"]),
    ("/devices", "sort_direction=DEC", [SORT_DIRECTION]),
    ("/devices", "type=3", ["device type [3] is not valid"]),
    ("/devices", "location_id=home", ["location id [home] is not valid"]),
    ("/devices", "user=yes", ["Parameter [user] is not a valid boolean {true/false}"]),
    ("/devices", "location=1",
     ["Parameter [location] is not a valid boolean {true/false}"]),
    ("/devices", "list_shared=",
     ["Parameter [list_shared] is not a valid boolean {true/false}"]),
    ("/devices", "primary_location=on",
     ["Parameter [primary_location] is not a valid boolean {true/false}"]),
    ("/devices/{sensor}", "user=no",
     ["Parameter [user] is not a valid boolean {true/false}"]),
    ("/devices/{sensor}", "location=no",
     ["Parameter [location] is not a valid boolean {true/false}"]),
    ("/locations", "limit=-5", ["Provide a positive limit"]),
    ("/locations", "sort_field=address", ["Sort field [address] is not a valid field"]),
    ("/locations", "list_shared=maybe",
     ["Parameter [list_shared] is not a valid boolean {true/false}"]),
    ("/notifications", "type=3", ["notification type [3] is not valid"]),
    ("/notifications", "types=64", ["notification types [64] is not a valid bitmask"]),
    ("/notifications", "types=0", ["notification types [0] is not a valid bitmask"]),
    ("/notifications", "device_id=42", ["device with id [42] is not found"]),
    ("/notifications", "location_id=x", ["location id [x] is not valid"]),
    ("/notifications", "read=unread",
     ["Parameter [read] is not a valid boolean {true/false}"]),
    ("/notifications", "sort_field=triggered_datetime",
     ["Sort field [triggered_datetime] is not a valid field"]),
    ("/usage-alerts", "flume_leak=1",
     ["Parameter [flume_leak] is not a valid boolean {true/false}"]),
    ("/usage-alerts", "device_id=42", ["device with id [42] is not found"]),
    ("/usage-alerts", "sort_field=created_datetime",
     ["Sort field [created_datetime] is not a valid field"]),
    ("/usage-alerts", "read=nope",
     ["Parameter [read] is not a valid boolean {true/false}"]),
]  # fmt: skip


@pytest.mark.parametrize(("route", "query", "detailed"), CASES)
def test_each_bad_parameter_is_reported(
    api: requests.Session,
    uid: int,
    sensor_id: str,
    route: str,
    query: str,
    detailed: list[str],
) -> None:
    """A bad list parameter is a 400 code 94 naming the parameter, with no data."""
    path = f"/users/{uid}{route.format(sensor=sensor_id)}?{query}"
    response = api.get(path)
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "code": 94,
        "message": "A provided parameter failed validation",
        "http_code": 400,
        "http_message": "Bad Request",
        "detailed": detailed,
        "data": [],
        "count": 0,
        "pagination": None,
    }


def test_all_problems_are_listed_together(api: requests.Session, uid: int) -> None:
    """Several bad parameters give one detail each, in Flume's documented order."""
    query = "limit=0&offset=-1&sort_field=x&sort_direction=up&device_id=9&type=5"
    response = api.get(f"/users/{uid}/notifications?{query}")
    assert response.json()["detailed"] == [
        "Provide a positive limit",
        "Provide a positive offset",
        "Sort field [x] is not a valid field",
        SORT_DIRECTION,
        "device with id [9] is not found",
        "notification type [5] is not valid",
    ]


@pytest.mark.parametrize("direction", ["asc", "DESC", "Desc"])
def test_sort_direction_is_case_insensitive(
    api: requests.Session, uid: int, direction: str
) -> None:
    """ASC and DESC are accepted in any case."""
    response = api.get(f"/users/{uid}/notifications?sort_direction={direction}")
    assert response.status_code == 200


def test_large_limits_are_accepted(api: requests.Session, uid: int) -> None:
    """Clients ask for limit=2000 (Homey, HA); that is fine."""
    assert api.get(f"/users/{uid}/notifications?limit=2000").status_code == 200

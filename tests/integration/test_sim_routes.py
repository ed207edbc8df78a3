"""The simulator's Flume data routes: envelopes, shapes, filters, 403 and 404."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from bridge.simulator.server import Simulator

ENVELOPE_KEYS = {
    "success",
    "code",
    "message",
    "http_code",
    "http_message",
    "detailed",
    "data",
    "count",
    "pagination",
}
UTC_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
LOCAL_STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def ok(response: requests.Response) -> list[Any]:
    """Check a 200 envelope and return its data."""
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert (body["success"], body["code"], body["http_code"]) == (True, 602, 200)
    data: list[Any] = body["data"]
    return data


def test_user(api: requests.Session, uid: int) -> None:
    """GET /users/{uid} returns the user object with the login's email."""
    (user,) = ok(api.get(f"/users/{uid}"))
    assert user["id"] == uid
    assert user["email_address"] == "demo@example.com"
    assert user["type"] == "USER"


def test_devices_have_flumes_shapes(
    sim_factory: Any, session_for: Any, login_as: Any
) -> None:
    """Bridges and sensors carry the real fields, with string ids beyond 2**53."""
    sim = sim_factory(sensors=3, timezones=("America/Los_Angeles", "Europe/Berlin"))
    session = session_for(sim)
    login_as(session)
    devices = ok(session.get(f"/users/{sim.model.account.user_id}/devices"))
    assert len(devices) == 5
    bridges = [d for d in devices if d["type"] == 1]
    sensors = [d for d in devices if d["type"] == 2]
    assert len(bridges) == 2
    for device in devices:
        assert isinstance(device["id"], str)
        assert int(device["id"]) > 2**53
        assert UTC_STAMP.fullmatch(device["last_seen"])
        assert "location" not in device
        assert "user" not in device
    assert all("battery_level" not in b and b["bridge_id"] is None for b in bridges)
    bridge_ids = {b["id"] for b in bridges}
    assert all(s["battery_level"] in ("low", "medium", "high") for s in sensors)
    assert all(s["bridge_id"] in bridge_ids for s in sensors)


def test_devices_embed_location_and_user(api: requests.Session, uid: int) -> None:
    """user=true&location=true (pyflume's call) embeds both objects."""
    devices = ok(api.get(f"/users/{uid}/devices?user=TRUE&location=true"))
    for device in devices:
        assert device["location"]["id"] == device["location_id"]
        assert device["location"]["tz"] == "America/Los_Angeles"
        assert device["user"]["id"] == uid


def test_device_filters(sim_factory: Any, session_for: Any, login_as: Any) -> None:
    """type, location_id and primary_location narrow the list; count follows."""
    sim = sim_factory(sensors=3, timezones=("America/Los_Angeles", "Europe/Berlin"))
    session = session_for(sim)
    login_as(session)
    path = f"/users/{sim.model.account.user_id}/devices"
    second = sim.model.account.locations[1].id
    by_type = session.get(path, params={"type": 2}).json()
    assert by_type["count"] == 3
    here = ok(session.get(path, params={"location_id": second}))
    assert {d["location_id"] for d in here} == {second}
    assert len(here) == 2
    primary = ok(session.get(path, params={"primary_location": "true"}))
    assert second not in {d["location_id"] for d in primary}
    assert len(primary) == 3
    assert ok(session.get(path, params={"location_id": 1})) == []


def test_devices_sort(api: requests.Session, uid: int) -> None:
    """sort_field/sort_direction order the devices (ids tie-break)."""
    path = f"/users/{uid}/devices"
    descending = ok(
        api.get(path, params={"sort_field": "type", "sort_direction": "desc"})
    )
    assert [d["type"] for d in descending] == [2, 1]
    by_id = ok(api.get(path))
    assert [d["id"] for d in by_id] == sorted(d["id"] for d in by_id)


def test_single_device(api: requests.Session, uid: int, sensor_id: str) -> None:
    """GET /devices/{did} returns the device as data[0], optionally with location."""
    (device,) = ok(
        api.get(f"/users/{uid}/devices/{sensor_id}", params={"location": "true"})
    )
    assert device["id"] == sensor_id
    assert device["location"]["name"] == "Home"


def test_locations(api: requests.Session, uid: int, sim: Simulator) -> None:
    """Locations carry tz and away_mode; one is fetched by id."""
    (location,) = ok(api.get(f"/users/{uid}/locations"))
    assert location["tz"] == "America/Los_Angeles"
    assert location["away_mode"] is False
    assert {"usage_profile", "installation", "primary_location"} <= set(location)
    (same,) = ok(api.get(f"/users/{uid}/locations/{location['id']}"))
    assert same == location


@pytest.mark.parametrize(
    "path",
    [
        "/devices/123",
        "/locations/99",
        "/locations/abc",
        "/devices/123/query/active",
        "/devices/123/leaks/active",
    ],
)
def test_unknown_records_are_610(api: requests.Session, uid: int, path: str) -> None:
    """Unknown devices and locations are Flume's 404 code 610."""
    response = api.get(f"/users/{uid}{path}")
    assert response.status_code == 404
    body = response.json()
    assert (body["code"], body["message"]) == (610, "Record could not be found")
    assert body["data"] == []


def test_query_of_an_unknown_device_is_610(api: requests.Session, uid: int) -> None:
    """POST .../query on an unknown device is a 404 code 610."""
    response = api.post(f"/users/{uid}/devices/1/query", json={"queries": []})
    assert (response.status_code, response.json()["code"]) == (404, 610)


def test_query_answers_by_request_id(
    sim: Simulator, api: requests.Session, uid: int, sensor_id: str
) -> None:
    """A batched query returns data[0] keyed by request_id with count 0."""
    body = {
        "queries": [
            {"request_id": "days", "bucket": "DAY",
             "since_datetime": "2026-03-07 00:00:00",
             "until_datetime": "2026-03-09 23:59:00"},
            {"request_id": "total", "bucket": "DAY", "operation": "SUM",
             "since_datetime": "2026-03-07 00:00:00",
             "until_datetime": "2026-03-09 23:59:00"},
        ]
    }  # fmt: skip
    response = api.post(f"/users/{uid}/devices/{sensor_id}/query", json=body)
    (result,) = ok(response)
    assert response.json()["count"] == 0
    days = result["days"]
    assert [d["datetime"] for d in days] == [
        "2026-03-07 00:00:00",
        "2026-03-08 00:00:00",
        "2026-03-09 00:00:00",
    ]
    (total,) = result["total"]
    assert set(total) == {"value"}
    assert total["value"] == pytest.approx(sum(d["value"] for d in days))
    assert total["value"] > 0


def test_query_validation_errors_are_code_94(
    api: requests.Session, uid: int, sensor_id: str
) -> None:
    """The model's validation details come back as a 400 code 94."""
    body = {"queries": [{"request_id": "x", "bucket": "WEEK"}]}
    response = api.post(f"/users/{uid}/devices/{sensor_id}/query", json=body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["code"] == 94
    assert payload["message"] == "A provided parameter failed validation"
    assert len(payload["detailed"]) >= 2  # the bucket and the missing since


@pytest.mark.parametrize("body", [b"{not json", b""])
def test_query_body_must_be_json(
    api: requests.Session, uid: int, sensor_id: str, body: bytes
) -> None:
    """An unparseable or empty query body is a 400 code 94."""
    response = api.post(
        f"/users/{uid}/devices/{sensor_id}/query",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (400, 94)


def test_bridges_are_not_water_sensors(
    api: requests.Session, uid: int, bridge_id: str
) -> None:
    """Query, live flow and leaks on a Flume Bridge are validation errors."""
    for method, suffix in (
        ("POST", "query"),
        ("GET", "query/active"),
        ("GET", "leaks/active"),
    ):
        response = api.request(
            method, f"/users/{uid}/devices/{bridge_id}/{suffix}", json={"queries": []}
        )
        assert response.status_code == 400
        assert bridge_id in response.json()["detailed"][0]


def test_active_flow(api: requests.Session, uid: int, sensor_id: str) -> None:
    """query/active returns one live reading in gallons per minute."""
    (flow,) = ok(api.get(f"/users/{uid}/devices/{sensor_id}/query/active"))
    assert set(flow) == {"active", "gpm", "datetime"}
    assert isinstance(flow["gpm"], float)
    assert flow["active"] is (flow["gpm"] > 0)
    assert LOCAL_STAMP.fullmatch(flow["datetime"])


def test_leaks_follow_the_leak_control(
    sim: Simulator, api: requests.Session, uid: int, sensor_id: str
) -> None:
    """leaks/active turns true once a started leak has run 30 minutes."""
    path = f"/users/{uid}/devices/{sensor_id}/leaks/active"
    assert ok(api.get(path, params={"read": "false", "limit": "50"})) == [
        {"active": False}
    ]
    started = api.post(
        "/_sim/leak", json={"device_id": sensor_id, "gallons_per_minute": 0.05}
    )
    assert started.json() == {"device_id": sensor_id, "gallons_per_minute": 0.05}
    sim.clock.advance(31 * 60)
    assert ok(api.get(path)) == [{"active": True}]
    api.post(
        "/_sim/leak", json={"device_id": sensor_id, "stop": True}
    ).raise_for_status()
    sim.clock.advance(60)
    assert ok(api.get(path)) == [{"active": False}]


def test_notifications_and_usage_alerts_share_the_alerts(
    sim_factory: Any, session_for: Any, login_as: Any
) -> None:
    """Each usage alert has a type-1 notification with the same query."""
    sim = sim_factory(leak=True)
    session = session_for(sim)
    login_as(session)
    uid = sim.model.account.user_id
    alerts = ok(session.get(f"/users/{uid}/usage-alerts", params={"limit": 500}))
    notes = ok(session.get(f"/users/{uid}/notifications", params={"limit": 500}))
    assert alerts
    assert {a["event_rule_name"] for a in alerts} >= {"Flume Smart Leak Alert"}
    usage_notes = [n for n in notes if n["type"] == 1]
    assert sorted(a["query"]["until_datetime"] for a in alerts) == sorted(
        n["extra"]["query"]["until_datetime"] for n in usage_notes
    )
    for alert in alerts:
        assert UTC_STAMP.fullmatch(alert["triggered_datetime"])
        assert alert["flume_leak"] is (
            alert["event_rule_name"] == "Flume Smart Leak Alert"
        )


def test_notification_filters(
    sim: Simulator, api: requests.Session, uid: int, sensor_id: str
) -> None:
    """type, types, read, device_id and location_id filter notifications."""
    api.post(
        f"/_sim/devices/{sensor_id}", json={"battery_level": "low"}
    ).raise_for_status()
    path = f"/users/{uid}/notifications"
    (battery,) = ok(api.get(path, params={"type": 16}))
    assert (battery["type"], battery["extra"]["event_rule_name"]) == (16, "Low Battery")
    assert battery["device_id"] == sensor_id
    assert ok(api.get(path, params={"types": 16})) == [battery]
    assert ok(api.get(path, params={"types": 8})) == []
    everything = api.get(path).json()["count"]
    assert api.get(path, params={"read": "false"}).json()["count"] == everything
    assert api.get(path, params={"read": "true"}).json()["count"] == 0
    assert api.get(path, params={"device_id": sensor_id}).json()["count"] == everything
    location = sim.model.account.locations[0].id
    assert api.get(path, params={"location_id": location}).json()["count"] == everything
    assert api.get(path, params={"location_id": location + 1}).json()["count"] == 0


def test_usage_alert_filters(sim_factory: Any, session_for: Any, login_as: Any) -> None:
    """flume_leak and device_id filter usage alerts."""
    sim = sim_factory(leak=True, sensors=2)
    session = session_for(sim)
    login_as(session)
    path = f"/users/{sim.model.account.user_id}/usage-alerts"
    total = session.get(path).json()["count"]
    leaks = ok(session.get(path, params={"flume_leak": "true"}))
    others = session.get(path, params={"flume_leak": "false"}).json()["count"]
    assert leaks
    assert all(a["flume_leak"] for a in leaks)
    assert len(leaks) + others == total
    second = sim.model.account.sensors[1].id
    mine = ok(session.get(path, params={"device_id": second, "limit": 500}))
    assert all(a["device_id"] == second for a in mine)


def test_unknown_route_and_wrong_method(api: requests.Session, uid: int) -> None:
    """Unknown paths are 404; a known path with the wrong method is 405 with Allow."""
    missing = api.get(f"/users/{uid}/budgets-of-dreams")
    assert missing.status_code == 404
    assert missing.json()["success"] is False
    wrong = api.delete(f"/users/{uid}/devices")
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "GET"


def test_trailing_slash_and_keep_alive(api: requests.Session, uid: int) -> None:
    """A trailing slash is ignored and one connection serves many requests."""
    for _ in range(3):
        response = api.get(f"/users/{uid}/")
        assert response.status_code == 200
        assert response.headers.get("Connection", "").lower() != "close"


def test_the_date_header_tells_the_simulated_time(sim: Simulator) -> None:
    """Like a real server's clock, the `Date` header follows the simulated clock."""
    from email.utils import parsedate_to_datetime

    sim.clock.advance(3 * 3600)
    response = requests.get(sim.url + "/_sim/clock", timeout=5)
    sent = parsedate_to_datetime(response.headers["Date"])
    assert abs((sent - sim.clock.now()).total_seconds()) < 2
    flume = requests.get(sim.url + "/users/1/devices", timeout=5)
    assert parsedate_to_datetime(flume.headers["Date"]) == sent

"""FlumeClient against the simulator: devices, locations, usage, flow, leaks, lists."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from bridge.errors import FlumeProtocolError, FlumeUnavailableError
from bridge.flume.client import FlumeClient
from bridge.simulator.server import Simulator
from tests.support.flume import (
    Wiring,
    WiringFactory,
    add_fault,
    route_count,
    sim_stats,
)
from tests.support.simulator import START, SimFactory, truth

ZONES = ("America/Los_Angeles", "Europe/Berlin")
DEVICES = "GET /users/{uid}/devices"
LOCATIONS = "GET /users/{uid}/locations"
NOTIFICATIONS = "GET /users/{uid}/notifications"


def client_of(wiring: Wiring, **options: Any) -> FlumeClient:
    return FlumeClient(wiring.http, wiring.tokens, **options)


def sim_account(sim: Simulator) -> dict[str, Any]:
    account: dict[str, Any] = requests.get(f"{sim.url}/_sim/account", timeout=10).json()
    return account


def at(hour: int) -> datetime:
    """An hour of START's day, UTC."""
    return START.replace(hour=hour, minute=0, second=0)


def test_devices_come_with_their_location_and_time_zone(
    sim_factory: SimFactory, wire: WiringFactory
) -> None:
    """Every device of the account is listed with its location's name and tz."""
    sim = sim_factory(sensors=3, timezones=ZONES)
    devices = client_of(wire(sim)).devices()
    expected = {d["id"]: (d["type"], d["tz"]) for d in sim_account(sim)["devices"]}
    assert {d.id: (d.type, d.location and d.location.tz) for d in devices} == expected
    for device in devices:
        assert device.location is not None
        assert device.location.name in ("Home", "Cabin")
        assert device.connected is True
        assert device.last_seen is not None
        assert device.last_seen.tzinfo is UTC
        assert (device.battery_level is None) is (not device.is_sensor)


def test_devices_without_embedded_location_are_joined_on_location_id(
    sim_factory: SimFactory, wire: WiringFactory
) -> None:
    """When Flume leaves `location` out, the locations list supplies it."""
    sim = sim_factory(sensors=2, timezones=ZONES)
    client = client_of(wire(sim))
    with_location = client.devices()
    add_fault(sim, route="*/devices", omit=["location"])
    assert client.devices() == with_location
    assert route_count(sim, DEVICES) == route_count(sim, LOCATIONS) == 2


def test_devices_and_locations_are_read_across_pages(
    sim_factory: SimFactory, wire: WiringFactory
) -> None:
    """With one item per page, every device and location is still found."""
    sim = sim_factory(sensors=2, timezones=ZONES)
    paged = client_of(wire(sim), page_limit=1, max_pages=10).devices()
    assert paged == client_of(wire(sim)).devices()
    assert route_count(sim, DEVICES) == 4 + 1  # 4 devices one by one, then all
    assert route_count(sim, LOCATIONS) == 2 + 1


def test_a_device_without_any_location_is_still_listed(
    sim: Simulator, wire: WiringFactory
) -> None:
    """A device with neither `location` nor `location_id` is listed, location None."""
    add_fault(sim, route="*/devices", omit=["location", "location_id"])
    devices = client_of(wire(sim)).devices()
    assert len(devices) == 2
    assert all(d.location is None and d.location_id is None for d in devices)


def test_missing_optional_device_fields_are_none(
    sim: Simulator, wire: WiringFactory
) -> None:
    """Without battery_level, connected, last_seen, bridge_id or product: None each."""
    optional = ["battery_level", "connected", "last_seen", "bridge_id", "product"]
    add_fault(sim, route="*/devices", omit=optional)
    for device in client_of(wire(sim)).devices():
        assert device.battery_level is None
        assert device.connected is None
        assert device.last_seen is None
        assert device.bridge_id is None
        assert device.product is None


def test_a_query_returns_each_series_and_matches_the_truth(
    sim: Simulator, wire: WiringFactory
) -> None:
    """A MIN series and a SUM over the same settled hour both equal /_sim/truth."""
    sensor = sim.model.account.sensors[0].id
    hour = {
        "since_datetime": "2026-03-10 10:00:00",
        "until_datetime": "2026-03-10 10:59:00",
    }
    result = client_of(wire(sim)).query(
        sensor,
        [
            {"request_id": "minutes", "bucket": "MIN", **hour},
            {"request_id": "sum", "bucket": "MIN", "operation": "SUM", **hour},
        ],
    )
    expected = truth(sim, sensor, at(17), at(18))
    assert len(result["minutes"]) == 60
    assert result["minutes"][0].datetime == "2026-03-10 10:00:00"
    assert sum(p.value for p in result["minutes"]) == pytest.approx(expected)
    assert [p.datetime for p in result["sum"]] == [None]
    assert result["sum"][0].value == pytest.approx(expected)


def test_a_query_flume_refuses_is_a_protocol_error(
    sim: Simulator, wire: WiringFactory
) -> None:
    """A query Flume rejects (400 code 94) names Flume's reason."""
    sensor = sim.model.account.sensors[0].id
    with pytest.raises(FlumeProtocolError, match="HTTP 400") as caught:
        client_of(wire(sim)).query(sensor, [{"request_id": "x", "bucket": "WEEK"}])
    assert caught.value.status == 400


def test_active_flow_and_leaks_are_read_per_sensor(
    sim_factory: SimFactory, wire: WiringFactory
) -> None:
    """The live flow is a typed reading; only the leaking sensor reports a leak."""
    sim = sim_factory(sensors=2, leak=True)
    sensors = sim.model.account.sensors
    first, second = (s.id for s in sensors)
    client = client_of(wire(sim))
    live = sim.model.active_flow(sensors[0])
    reading = client.active_flow(first)
    assert (reading.active, reading.gpm, reading.datetime) == (
        live["active"],
        live["gpm"],
        live["datetime"],
    )
    assert live["active"] is True
    assert (client.leak_active(first), client.leak_active(second)) == (True, False)


def make_notifications(sim: Simulator) -> None:
    """Battery and connectivity changes each add a notification."""
    for sensor in sim.model.account.sensors:
        for change in ({"battery_level": "low"}, {"connected": False}):
            url = f"{sim.url}/_sim/devices/{sensor.id}"
            requests.post(url, json=change, timeout=10).raise_for_status()
            sim.clock.advance(60)


def test_notifications_follow_pagination_newest_first(
    sim_factory: SimFactory, wire: WiringFactory
) -> None:
    """Paged two at a time, the client reads every notification, newest first."""
    sim = sim_factory(sensors=2, leak=True)
    make_notifications(sim)
    everything = sorted(
        sim.model.notifications(), key=lambda n: str(n["created_datetime"])
    )
    found = client_of(wire(sim), page_limit=2, max_pages=10).notifications()
    assert [n.id for n in found] == [n["id"] for n in reversed(everything)]
    assert route_count(sim, NOTIFICATIONS) == (len(everything) + 1) // 2
    assert found[0].created_at > found[-1].created_at
    newest = found[0]  # the last change made: the second sensor disconnected
    assert (newest.type, newest.title, newest.rule) == (
        8,
        "Device Disconnected",
        "Bridge Disconnection",
    )
    assert newest.device_id == sim.model.account.sensors[1].id
    assert newest.read is False


def test_notifications_since_stop_paging_at_older_ones(
    sim: Simulator, wire: WiringFactory
) -> None:
    """Asking for what is newer than a seen notification reads one page, not all."""
    make_notifications(sim)
    client = client_of(wire(sim), page_limit=1, max_pages=10)
    newest = client.notifications()[:2]
    requests.delete(f"{sim.url}/_sim/stats", timeout=10)
    assert client.notifications(since=newest[1].created_at) == [newest[0]]
    assert route_count(sim, NOTIFICATIONS) == 2


def test_paging_is_bounded(sim: Simulator, wire: WiringFactory) -> None:
    """No listing reads more than max_pages pages."""
    make_notifications(sim)
    found = client_of(wire(sim), page_limit=1, max_pages=2).notifications()
    assert len(found) == 2
    assert route_count(sim, NOTIFICATIONS) == 2


def test_usage_alerts_are_typed_and_newest_first(
    sim_factory: SimFactory, wire: WiringFactory
) -> None:
    """Usage alerts carry the rule and the leak flag, newest first."""
    sim = sim_factory(leak=True)
    alerts = client_of(wire(sim), page_limit=2).usage_alerts()
    expected = sim.model.usage_alerts()
    assert sorted(a.id for a in alerts) == sorted(int(str(a["id"])) for a in expected)
    assert alerts == sorted(alerts, key=lambda a: a.triggered_at, reverse=True)
    assert {a.rule for a in alerts} <= {"High Flow Alert", "Flume Smart Leak Alert"}
    assert any(a.leak for a in alerts)
    since = datetime(2100, 1, 1, tzinfo=UTC)
    assert client_of(wire(sim)).usage_alerts(since=since) == []


def test_a_revoked_token_costs_one_refresh_and_one_retry(
    sim: Simulator, wire: WiringFactory
) -> None:
    """After Flume revokes the access token, a call refreshes once and succeeds."""
    client = client_of(wire(sim))
    client.locations()
    requests.delete(f"{sim.url}/_sim/stats", timeout=10)
    add_fault(sim, revoke_tokens="access")
    assert client.locations()
    routes = sim_stats(sim)["by_route"]
    assert routes[LOCATIONS]["by_status"] == {"401": 1, "200": 1}
    assert routes["POST /oauth/token"]["by_status"] == {"200": 1}


def test_a_second_401_is_transient_not_a_login_loop(
    sim: Simulator, wire: WiringFactory
) -> None:
    """A 401 that persists after one refresh is transient; no second refresh follows."""
    client = client_of(wire(sim))
    client.locations()
    add_fault(sim, route="*/locations", status=401, count=5)
    with pytest.raises(FlumeUnavailableError, match="after a token refresh") as caught:
        client.locations()
    assert caught.value.status == 401
    assert route_count(sim, "POST /oauth/token") == 2
    assert route_count(sim, LOCATIONS) == 3

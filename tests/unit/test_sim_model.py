"""The Model façade: device objects, control actions, leaks, alerts, notifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bridge.simulator.account import SimConfig
from bridge.simulator.clock import SimClock
from bridge.simulator.model import Model
from bridge.simulator.query import QueryError

START = datetime(2025, 7, 15, 19, 0, 7, tzinfo=UTC)  # 12:00:07 in Los Angeles
FORMAT = "%Y-%m-%d %H:%M:%S"


def make(**config: object) -> tuple[Model, SimClock]:
    clock = SimClock(START, speed=0)
    return Model(SimConfig(**config), clock.now), clock  # type: ignore[arg-type]  # mixed values


def test_a_sensor_object_has_flumes_fields_and_a_recent_last_seen() -> None:
    """A sensor has string ids, battery, orientation, and last_seen floored to 20 s."""
    model, clock = make()
    sensor = model.account.sensors[0]
    clock.advance(45)
    data = model.device_json(sensor, location=False, user=False)
    assert data == {
        "id": sensor.id,
        "type": 2,
        "location_id": sensor.location_id,
        "user_id": model.account.user_id,
        "bridge_id": sensor.bridge_id,
        "oriented": True,
        "last_seen": "2025-07-15T19:00:40.000Z",
        "connected": True,
        "battery_level": data["battery_level"],
        "product": "flume2",
    }
    assert data["battery_level"] in {"medium", "high"}


def test_a_bridge_object_has_no_battery_and_embeds_on_request() -> None:
    """A bridge has no battery_level or bridge_id; location and user embed on demand."""
    model, _ = make()
    bridge = model.account.devices[0]
    data = model.device_json(bridge, location=True, user=True)
    assert data["type"] == 1
    assert data["bridge_id"] is None
    assert "battery_level" not in data
    assert "oriented" not in data
    assert data["supports_ap"] is True
    assert data["location"] == model.location_json(model.account.locations[0])
    assert data["user"] == model.account.user


def test_a_disconnected_device_keeps_its_last_seen_and_notifies() -> None:
    """Disconnecting freezes last_seen and files heartbeat notifications both ways."""
    model, clock = make()
    bridge = model.account.devices[0]
    model.set_device_state(bridge.id, connected=False)
    clock.advance(3600)
    data = model.device_json(bridge, location=False, user=False)
    assert data["connected"] is False
    assert data["last_seen"] == "2025-07-15T19:00:07.000Z"
    model.set_device_state(bridge.id, connected=False)  # no change, no notice
    model.set_device_state(bridge.id, connected=True)
    heartbeats = [n for n in model.notifications() if n["type"] == 8]
    assert [n["extra"] for n in heartbeats] == [
        {"event_rule_name": "Bridge Disconnection", "connected": False},
        {"event_rule_name": "Bridge Disconnection", "connected": True},
    ]
    assert heartbeats[0]["device_id"] == bridge.id
    assert heartbeats[1]["created_datetime"] == "2025-07-15T20:00:07.000Z"
    assert model.device_json(bridge, location=False, user=False)["connected"] is True


def test_a_battery_turning_low_notifies_once() -> None:
    """Only a change to low files a Low Battery notification."""
    model, _ = make()
    sensor = model.account.sensors[0]
    model.set_device_state(sensor.id, battery_level="low")
    model.set_device_state(sensor.id, battery_level="low")
    model.set_device_state(sensor.id, battery_level="high")
    assert (
        model.device_json(sensor, location=False, user=False)["battery_level"] == "high"
    )
    batteries = [n for n in model.notifications() if n["type"] == 16]
    assert len(batteries) == 1
    assert batteries[0]["title"] == "Low Battery"
    assert batteries[0]["extra"] == {"event_rule_name": "Low Battery"}
    assert batteries[0]["read"] is False


def test_bad_control_actions_are_refused() -> None:
    """Unknown devices are KeyErrors; impossible states are ValueErrors."""
    model, _ = make()
    bridge, sensor = model.account.devices[0], model.account.sensors[0]
    with pytest.raises(KeyError):
        model.set_device_state("42", connected=False)
    with pytest.raises(ValueError, match="battery_level"):
        model.set_device_state(sensor.id, battery_level="empty")
    with pytest.raises(ValueError, match="battery_level"):
        model.set_device_state(bridge.id, battery_level="low")
    with pytest.raises(ValueError, match="leak"):
        model.start_leak(bridge.id, 1.0)
    with pytest.raises(ValueError, match="leak"):
        model.start_leak(sensor.id, 0.001)  # rounds to 0/256
    with pytest.raises(KeyError):
        model.start_leak("42", 1.0)
    with pytest.raises(KeyError):
        model.stop_leak("42")


def test_a_started_leak_becomes_active_then_alerts_then_stops() -> None:
    """A leak is active after 30 minutes, alerts after 60, and stops on request."""
    model, clock = make()
    sensor = model.account.sensors[0]
    model.start_leak(sensor.id, 0.5)  # from 19:01, the next whole minute
    clock.advance(30 * 60 + 52)  # 19:30:59
    assert not model.leak_active(sensor)
    assert not [a for a in model.usage_alerts() if a["flume_leak"]]
    clock.advance(1)
    assert model.leak_active(sensor)
    clock.advance(30 * 60)  # 20:01:00
    leak_alerts = [a for a in model.usage_alerts() if a["flume_leak"]]
    assert [a["triggered_datetime"] for a in leak_alerts] == [
        "2025-07-15T20:01:00.000Z"
    ]
    assert leak_alerts[0]["event_rule_name"] == "Flume Smart Leak Alert"
    model.stop_leak(sensor.id)
    clock.advance(60)
    assert not model.leak_active(sensor)
    assert len([a for a in model.usage_alerts() if a["flume_leak"]]) == 1


def test_leak_water_is_in_the_truth() -> None:
    """A 0.5 gpm leak adds exactly 0.5 gallon to every minute it covers."""
    model, clock = make()
    sensor = model.account.sensors[0]
    hour = (START + timedelta(minutes=1), START + timedelta(minutes=61))
    dry = model.truth(sensor.id, *hour)
    model.start_leak(sensor.id, 0.5)
    clock.advance(7200)
    model.stop_leak(sensor.id)
    clock.advance(7200)
    # The leak runs 19:01-21:01; hour is 19:01:07-20:01:07, seconds prorated.
    assert model.truth(sensor.id, *hour) == pytest.approx(dry + 30.0)


def test_the_demo_leak_has_run_for_two_hours_at_start() -> None:
    """With leak=True the first sensor leaks from two hours before the start."""
    model, _ = make(leak=True, sensors=2)
    first, second = model.account.sensors
    assert model.leak_active(first)
    assert not model.leak_active(second)
    leaks = [a for a in model.usage_alerts() if a["flume_leak"]]
    assert [(a["device_id"], a["triggered_datetime"]) for a in leaks] == [
        (first.id, "2025-07-15T18:00:00.000Z")
    ]
    gpm = model.active_flow(first)["gpm"]
    assert isinstance(gpm, float)
    assert gpm >= 6 / 256


def test_high_flow_alerts_follow_the_sprinklers_of_the_last_days() -> None:
    """Each long 4+ gpm event of the history window is a High Flow Alert, 10 min in."""
    model, _ = make(history_days=10)
    alerts = model.usage_alerts()
    assert alerts
    assert alerts == model.usage_alerts()  # stable ids and order
    assert len({a["id"] for a in alerts}) == len(alerts)
    oldest = START - timedelta(days=10)
    for alert in alerts:
        assert alert["event_rule_name"] == "High Flow Alert"
        assert alert["flume_leak"] is False
        triggered = datetime.fromisoformat(str(alert["triggered_datetime"]))
        assert oldest <= triggered <= START
        flow = model.truth(
            str(alert["device_id"]), triggered - timedelta(minutes=10), triggered
        )
        assert flow >= 40  # ten minutes of at least 4 gpm
        query = alert["query"]
        assert isinstance(query, dict)
        assert query["until_datetime"] == (triggered + timedelta(minutes=1)).astimezone(
            model.account.locations[0].zone
        ).strftime(FORMAT)
        assert query["bucket"] == "MIN"
        assert query["tz"] == "America/Los_Angeles"
        assert query["device_id"] == [alert["device_id"]]


def test_every_usage_alert_has_a_notification() -> None:
    """Notifications hold one type-1 record per usage alert, with its query and rule."""
    model, _ = make(leak=True)
    alerts = {a["id"]: a for a in model.usage_alerts()}
    notices = {n["id"]: n for n in model.notifications() if n["type"] == 1}
    assert alerts.keys() == notices.keys()
    for nid, notice in notices.items():
        assert notice["user_id"] == model.account.user_id
        assert notice["created_datetime"] == alerts[nid]["triggered_datetime"]
        assert notice["extra"] == {
            "query": alerts[nid]["query"],
            "event_rule_name": alerts[nid]["event_rule_name"],
            "advanced_low_flow": False,
        }
        assert notice["title"] == alerts[nid]["event_rule_name"]


def test_active_flow_is_the_last_whole_minute_without_latency() -> None:
    """query/active reports the truth of the minute before now, in gallons a minute."""
    model, clock = make(latency_minutes=30)
    sensor = model.account.sensors[0]
    model.start_leak(sensor.id, 2.0)
    clock.advance(5 * 60)  # 19:05:07; the minute 19:04 is complete
    minute = datetime(2025, 7, 15, 19, 4, tzinfo=UTC)
    reading = model.active_flow(sensor)
    assert reading == {
        "active": True,
        "gpm": model.truth(sensor.id, minute, minute + timedelta(minutes=1)),
        "datetime": "2025-07-15 12:04:00",
    }
    assert isinstance(reading["gpm"], float)
    assert reading["gpm"] >= 2.0
    assert model.active_flow(model.account.devices[0])["active"] is False


def test_truth_checks_its_arguments_and_bridges_have_no_water() -> None:
    """truth() wants a known device and an aware, ordered span; a bridge reads 0."""
    model, _ = make()
    sensor, bridge = model.account.sensors[0], model.account.devices[0]
    later = START + timedelta(hours=1)
    with pytest.raises(KeyError):
        model.truth("42", START, later)
    with pytest.raises(ValueError, match="time zone"):
        model.truth(sensor.id, START.replace(tzinfo=None), later)
    with pytest.raises(ValueError, match="before"):
        model.truth(sensor.id, later, START)
    assert model.truth(bridge.id, START - timedelta(days=1), START) == 0.0
    assert model.truth(sensor.id, START, START) == 0.0


def test_a_query_on_a_bridge_is_a_validation_error() -> None:
    """Only water sensors answer usage queries."""
    model, _ = make()
    bridge = model.account.devices[0]
    query = {
        "request_id": "x",
        "bucket": "DAY",
        "since_datetime": "2025-07-15 00:00:00",
    }
    body = {"queries": [query]}
    with pytest.raises(QueryError) as caught:
        model.query(bridge, body)
    assert caught.value.details == [f"device {bridge.id} is not a water sensor"]


def test_queries_read_the_location_zone_and_the_clock() -> None:
    """A sensor's query uses its location's time zone and the model's now."""
    model, _ = make(timezones=("America/Los_Angeles", "Asia/Tokyo"), sensors=2)
    tokyo = model.account.sensors[1]
    query = {
        "request_id": "t",
        "bucket": "DAY",
        "since_datetime": "2025-07-16 00:00:00",
    }
    body = {"queries": [query]}
    answer = model.query(tokyo, body)["t"]
    midnight = datetime(2025, 7, 15, 15, tzinfo=UTC)  # 2025-07-16 00:00 in Tokyo
    visible = datetime(2025, 7, 15, 18, 58, tzinfo=UTC)  # two minutes of latency
    water = model.truth(tokyo.id, midnight, visible)
    assert answer == [{"datetime": "2025-07-16 00:00:00", "value": water}]


def test_a_leak_stopped_early_never_alerts() -> None:
    """A leak fixed within the hour raises no alert; a restart starts a new one."""
    model, clock = make()
    sensor = model.account.sensors[0]
    model.start_leak(sensor.id, 1.0)
    clock.advance(40 * 60)
    assert model.leak_active(sensor)
    model.start_leak(sensor.id, 2.0)  # replaces the running leak from the next minute
    clock.advance(60)
    assert not model.leak_active(sensor)
    clock.advance(20 * 60)
    model.stop_leak(sensor.id)
    clock.advance(3 * 3600)
    assert not [a for a in model.usage_alerts() if a["flume_leak"]]

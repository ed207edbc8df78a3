"""The `check` report: device selection, the printed lines and what fails the check."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from bridge.commands.check import CheckReport, problems, render
from bridge.flume.client import select_devices
from bridge.models import BRIDGE, SENSOR, Device, Location

HOME = Location(id=7, name="Home", tz="Europe/Berlin")
SENSOR_A = Device(
    id="6248148189204194987",
    type=SENSOR,
    location_id=7,
    location=HOME,
    bridge_id="1",
    connected=True,
    last_seen=datetime(2026, 11, 28, 12, 33, 40, tzinfo=UTC),
    battery_level="high",
)
SENSOR_B = Device(id="42", type=SENSOR, location_id=None, location=None)
HUB = Device(id="1", type=BRIDGE, location_id=7, location=HOME, connected=False)
REPORT = CheckReport(
    version="0.1.0",
    settings_source="environment and .env",
    api_url="http://127.0.0.1:8089",
    username="demo@example.com",
    user_id=1234,
    devices=(SENSOR_A, SENSOR_B, HUB),
    selected=(SENSOR_A, SENSOR_B, HUB),
    plan="2 sensors at 100 requests/hour: usage every 106 s",
    state_dir="/var/lib/flume-mqtt",
    state_writable=True,
    broker="127.0.0.1:1883 (no TLS, user bridge, MQTT 3.1.1)",
)


def test_no_filter_selects_every_device() -> None:
    """An empty FLUME_DEVICE_IDS bridges the whole account."""
    assert select_devices([SENSOR_A, HUB], ()) == ([SENSOR_A, HUB], [])


def test_the_filter_keeps_account_order_and_names_unknown_ids() -> None:
    """Listed ids are kept in the account's order; ids the account lacks come back."""
    chosen, unknown = select_devices([SENSOR_A, SENSOR_B, HUB], ("1", "999", "42"))
    assert chosen == [SENSOR_B, HUB]
    assert unknown == ["999"]


def test_the_report_lists_devices_with_location_timezone_and_status() -> None:
    """Each device shows its kind, id, location, time zone and what Flume says of it."""
    assert render(REPORT).splitlines() == [
        "flume-mqtt 0.1.0 check",
        "config   ok (environment and .env)",
        "state    /var/lib/flume-mqtt (writable)",
        "flume    ok: logged in to http://127.0.0.1:8089 as demo@example.com "
        "(user 1234)",
        "devices  2 water sensors, 1 Flume Bridge",
        "  sensor 6248148189204194987  Home (Europe/Berlin)  connected, battery high, "
        "last seen 2026-11-28 12:33:40 UTC",
        "  sensor 42  no location (timezone unknown)  connection unknown",
        "  bridge 1  Home (Europe/Berlin)  NOT connected",
        "plan     2 sensors at 100 requests/hour: usage every 106 s",
        "mqtt     ok: connected to 127.0.0.1:1883 (no TLS, user bridge, MQTT 3.1.1)",
        "result   ok",
    ]
    assert problems(REPORT) == []


def test_devices_left_out_by_the_filter_are_counted() -> None:
    """The devices line says how many devices FLUME_DEVICE_IDS leaves out."""
    report = dataclasses.replace(REPORT, selected=(SENSOR_A,))
    assert (
        "devices  1 water sensor, 0 Flume Bridges (2 more not in FLUME_DEVICE_IDS)"
        in (render(report).splitlines())
    )


def test_no_sensor_and_an_unwritable_state_dir_fail_the_check() -> None:
    """Without a sensor or a writable STATE_DIR the bridge could not work: FAILED."""
    report = dataclasses.replace(REPORT, selected=(HUB,), state_writable=False)
    assert problems(report) == [
        "STATE_DIR /var/lib/flume-mqtt is not writable",
        "no water sensor to bridge",
    ]
    lines = render(report).splitlines()
    assert "state    /var/lib/flume-mqtt (NOT writable)" in lines
    assert lines[-1] == (
        "result   FAILED: STATE_DIR /var/lib/flume-mqtt is not writable; "
        "no water sensor to bridge"
    )


def test_an_unreachable_broker_fails_the_check_with_its_reason() -> None:
    """The mqtt line says why the broker probe failed, and the result is FAILED."""
    reason = "MQTT broker 127.0.0.1:1883: [Errno 111] Connection refused"
    report = dataclasses.replace(REPORT, broker=None, broker_error=reason)
    lines = render(report).splitlines()
    assert f"mqtt     FAILED: {reason}" in lines
    assert lines[-1] == "result   FAILED: the MQTT broker is not reachable"


def test_a_report_without_a_broker_probe_does_not_pass() -> None:
    """A broker nobody checked is not a passed check."""
    report = dataclasses.replace(REPORT, broker=None)
    assert "mqtt     not checked" in render(report).splitlines()
    assert problems(report) == ["the MQTT broker was not checked"]

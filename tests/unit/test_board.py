"""Board: states from each device's facts, availability over time, the total."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.models import (
    UNIT_SYSTEMS,
    BridgeState,
    Device,
    Location,
    SensorState,
    Usage,
)
from bridge.service.board import STALE_MIN, Board

NOW = datetime(2026, 3, 10, 18, 30, tzinfo=UTC)
HOME = Location(7, "Home", "America/Los_Angeles")
SENSOR = Device("200", 2, 7, HOME, "100", True, NOW, "high")
HUB = Device("100", 1, 7, HOME, None, True, NOW)
OTHER = Device("300", 3, 7, HOME)  # a type the bridge has no state for
PROPERTY = settings(max_examples=200, deadline=None, derandomize=True, database=None)


def usage(total: float = 12.5, flow: float | None = 0.5) -> Usage:
    """An answered usage query at NOW."""
    return Usage(
        updated_at=NOW,
        windows={"last_60_min": 3.0, "today": 80.25},
        flow_gpm=flow,
        total_gallons=total,
        total_since=NOW - timedelta(days=1),
        total_through=NOW - timedelta(minutes=3),
    )


def board(*devices: Device, units: str = "gallons", offset: float = 0.0) -> Board:
    """A board serving `devices` (all three kinds by default)."""
    found = Board(UNIT_SYSTEMS[units], offset)
    found.replace_devices(devices or (HUB, SENSOR, OTHER))
    return found


def test_lists_keep_the_accounts_order_and_sensors_are_the_water_meters() -> None:
    """devices() in the given order; sensors() only type 2; device() by id or None."""
    found = board()
    assert found.devices() == [HUB, SENSOR, OTHER]
    assert found.sensors() == [SENSOR]
    assert found.device("200") == SENSOR
    assert found.device("999") is None


def test_a_fresh_list_keeps_known_facts_and_names_the_devices_gone() -> None:
    """Devices that stay keep their usage; those missing are returned as gone."""
    found = board()
    found.set_usage("200", usage(), NOW)
    moved = Device("200", 2, 7, HOME, "100", False, NOW, "low")
    assert found.replace_devices([moved]) == ["100", "300"]
    state = found.state("200", NOW)
    assert isinstance(state, SensorState)
    assert (state.connected, state.low_battery, state.today) == (False, True, 80.25)
    assert found.last_success() == {"200": NOW}


def test_a_sensor_without_usage_has_nulls_not_zeros() -> None:
    """Before the first answer every volume and the flow are None."""
    state = board().state("200", NOW)
    assert state == SensorState(
        device_id="200",
        location="Home",
        updated_at=NOW,
        unit="gal",
        flow_unit="gal/min",
        battery_level="high",
        low_battery=False,
        connected=True,
        last_seen=NOW,
    )


def test_a_sensor_with_usage_reads_every_window_and_the_facts() -> None:
    """Windows converted to UNITS, flowing from the flow, leak and high flow as set."""
    found = board(SENSOR, units="liters", offset=1000.0)
    found.set_usage("200", usage(), NOW)
    found.set_leak("200", True)
    found.set_high_flow("200", False)
    state = found.state("200", NOW + timedelta(minutes=5))
    assert isinstance(state, SensorState)
    assert state.updated_at == NOW
    assert (state.flow_rate, state.flowing) == (litres(0.5, 2), True)
    assert state.today == litres(80.25, 2)
    assert state.last_24_hours is None  # not in the answer: unknown, not zero
    assert state.total == round(1000.0 + 12.5 * UNIT_SYSTEMS["liters"].per_gallon, 5)
    assert (state.leak, state.high_flow) == (True, False)


def litres(gallons: float, decimals: int) -> float:
    """Gallons in litres, rounded as the liters system rounds volumes."""
    return round(gallons * UNIT_SYSTEMS["liters"].per_gallon, decimals)


@pytest.mark.parametrize(("flow", "flowing"), [(0.0, False), (None, None)])
def test_flowing_follows_the_flow(flow: float | None, flowing: bool | None) -> None:
    """No water in the newest minute is not flowing; an unread minute is unknown."""
    found = board(SENSOR)
    found.set_usage("200", usage(flow=flow), NOW)
    state = found.state("200", NOW)
    assert isinstance(state, SensorState)
    assert state.flowing is flowing


def test_a_sensor_without_location_or_battery_says_null() -> None:
    """No location, no battery level: location and low_battery are None."""
    bare = Device("200", 2, None, None)
    state = board(bare).state("200", NOW)
    assert isinstance(state, SensorState)
    assert (state.location, state.low_battery, state.connected) == (None, None, None)


def test_a_flume_bridge_has_its_own_state_and_other_types_none() -> None:
    """Type 1: device id, connected, last seen; an unknown type: no state at all."""
    found = board()
    assert found.state("100", NOW) == BridgeState("100", True, NOW)
    assert found.state("300", NOW) is None


def test_availability_goes_offline_when_usage_is_stale() -> None:
    """Online within three usage intervals (at least STALE_MIN) of the last answer."""
    found = board(SENSOR)
    assert not found.available("200", NOW, 60)  # never read
    found.set_usage("200", usage(), NOW)
    assert found.available("200", NOW + STALE_MIN, 60)
    assert not found.available("200", NOW + STALE_MIN + timedelta(seconds=1), 60)
    assert found.available("200", NOW + timedelta(minutes=15), 300)
    assert not found.available("200", NOW + timedelta(minutes=15, seconds=1), 300)


def test_a_disconnected_sensor_is_offline_however_fresh() -> None:
    """A list saying disconnected wins over fresh usage; unknown (None) does not."""
    found = board(Device("200", 2, 7, HOME, connected=False))
    found.set_usage("200", usage(), NOW)
    assert not found.available("200", NOW, 60)
    found.replace_devices([Device("200", 2, 7, HOME, connected=None)])
    assert found.available("200", NOW, 60)


@pytest.mark.parametrize("gallons", [math.nan, math.inf])
def test_a_total_that_is_not_a_number_is_null(gallons: float) -> None:
    """A non-finite count is published as unknown, never as a number."""
    assert board().total(gallons) is None


@PROPERTY
@given(
    units=st.sampled_from(sorted(UNIT_SYSTEMS)),
    offset=st.floats(0, 1e7),
    steps=st.lists(st.floats(0, 1e4), min_size=1, max_size=20),
)
def test_the_total_never_falls(units: str, offset: float, steps: list[float]) -> None:
    """Rounded in any UNITS with any METER_OFFSET, a growing count never reads less."""
    found = Board(UNIT_SYSTEMS[units], offset)
    gallons, last = 0.0, -math.inf
    for step in steps:
        gallons += step
        total = found.total(gallons)
        assert total is not None
        assert total >= last
        last = total

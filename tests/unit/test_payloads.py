"""The bridge's own messages: unit conversion, events and diagnostics as JSON."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.config import Settings
from bridge.contract import Contract
from bridge.models import UNIT_SYSTEMS, Device, Diagnostics, Event, SensorState
from tests.support.contract import listed_state

AT = datetime(2026, 11, 28, 12, 34, 5, 123456, tzinfo=UTC)
volumes = st.floats(min_value=0, max_value=1e9, allow_nan=False)


@pytest.mark.parametrize(
    ("units", "gallons", "volume", "gpm", "flow"),
    [
        ("gallons", 1.23456, 1.235, 0.42, 0.42),
        ("liters", 1.0, 3.79, 1.0, 3.79),
        ("cubic_feet", 1.0, 0.1337, 1.0, 0.1337),
        ("cubic_meters", 1000.0, 3.78541, 1.0, 0.2271),
    ],
)
def test_gallons_convert_to_each_unit_system(
    units: str, gallons: float, volume: float, gpm: float, flow: float
) -> None:
    """Flume's gallons and gallons a minute become the UNITS choice, rounded."""
    system = UNIT_SYSTEMS[units]
    assert system.volume_of(gallons) == volume
    assert system.flow_of(gpm) == flow


@pytest.mark.parametrize("bad", [None, math.nan, math.inf])
def test_unknown_values_stay_null(bad: float | None) -> None:
    """None, NaN and infinity become None (JSON null), never 0 or invalid JSON."""
    for system in UNIT_SYSTEMS.values():
        assert system.volume_of(bad) is None
        assert system.flow_of(bad) is None


@given(a=volumes, b=volumes)
def test_rounding_keeps_a_counter_increasing(a: float, b: float) -> None:
    """A total that grows never shrinks when converted (total_increasing holds)."""
    low, high = sorted((a, b))
    for system in UNIT_SYSTEMS.values():
        assert system.volume_of(low) <= system.volume_of(high)  # type: ignore[operator]  # not None for finite input


def test_an_event_is_json_and_not_retained() -> None:
    """An alert goes to `<base>/<id>/event`, unretained, with UTC `at`."""
    event = Event("leak", "Leak detected", "Water is running", AT)
    message = Contract.of(Settings()).payloads.event("42", event)
    assert message.topic == "flume/42/event"
    assert not message.retain
    assert json.loads(message.payload) == {
        "type": "leak",
        "title": "Leak detected",
        "message": "Water is running",
        "at": "2026-11-28T12:34:05Z",
    }


def test_diagnostics_carry_plan_requests_errors_and_successes() -> None:
    """Diagnostics tell the version, plan, requests, last error and last successes."""
    diagnostics = Diagnostics(
        version="0.1.0",
        started_at=AT,
        requests_per_hour=100,
        plan={"usage": 60, "leaks": 300},
        requests_last_hour=12,
        last_error=None,
        last_success={"42": AT, "43": None},
    )
    message = Contract.of(Settings(), version="0.1.0").payloads.diagnostics(diagnostics)
    assert message.topic == "flume/diagnostics"
    assert message.retain
    assert json.loads(message.payload) == {
        "version": "0.1.0",
        "started_at": "2026-11-28T12:34:05Z",
        "request_plan": {
            "requests_per_hour": 100,
            "usage_interval": 60,
            "leaks_interval": 300,
        },
        "requests_last_hour": 12,
        "last_error": None,
        "last_success": {"42": "2026-11-28T12:34:05Z", "43": None},
    }


def test_unit_strings_are_utf8_in_the_payload() -> None:
    """`m³` travels as UTF-8, readable to subscribers, not as an escape."""
    made = Contract.of(Settings(units="cubic_meters"))
    payload = made.payloads.state(
        listed_state(made, Device("1", 2, None, None), AT)
    ).payload
    assert "m³".encode() in payload
    assert json.loads(payload)["flow_unit"] == "m³/h"


maybe_float = st.none() | st.floats()  # NaN and infinities included
maybe_bool = st.none() | st.booleans()
maybe_time = st.none() | st.datetimes(timezones=st.just(UTC))


@given(
    flow=maybe_float,
    total=maybe_float,
    today=maybe_float,
    leak=maybe_bool,
    seen=maybe_time,
    level=st.none() | st.sampled_from(["low", "medium", "high"]),
)
def test_any_sensor_state_is_valid_json_in_the_fixed_order(
    flow: float | None,
    total: float | None,
    today: float | None,
    leak: bool | None,
    seen: datetime | None,
    level: str | None,
) -> None:
    """Whatever the values, the JSON parses, keeps DESIGN's order and has no NaN."""
    state = SensorState(
        device_id="1",
        unit="gal",
        flow_unit="gal/min",
        flow_rate=flow,
        total=total,
        today=today,
        leak=leak,
        last_seen=seen,
        battery_level=level,
    )
    document = json.loads(Contract.of(Settings()).payloads.state(state).payload)
    assert list(document) == list(SensorState.__dataclass_fields__)
    for key, given_value in (("flow_rate", flow), ("total", total), ("today", today)):
        finite = given_value is not None and math.isfinite(given_value)
        assert document[key] == (given_value if finite else None)
    assert document["last_seen"] == (
        None if seen is None else seen.strftime("%Y-%m-%dT%H:%M:%SZ")
    )

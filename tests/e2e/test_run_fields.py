"""`flume-mqtt run` against the simulator: every topic and field of DESIGN §5."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bridge.models import UNIT_SYSTEMS
from bridge.simulator.server import Simulator
from tests.support.bridge import (
    BridgeProcess,
    bridge_env,
    expected_state,
    newest_state,
)
from tests.support.broker import Broker
from tests.support.clock import parse_utc
from tests.support.mqtt import Subscriber
from tests.support.simulator import SimFactory

FIELDS = [
    "device_id",
    "location",
    "updated_at",
    "unit",
    "flow_unit",
    "flow_rate",
    "flowing",
    "last_60_min",
    "last_24_hours",
    "today",
    "this_week",
    "this_month",
    "this_year",
    "yesterday",
    "last_month",
    "total",
    "total_since",
    "total_through",
    "leak",
    "high_flow",
    "continuous_flow",  # the local rules (bridge/alerts)
    "sustained_flow",
    "away_flow",
    "last_session",
    "low_battery",
    "battery_level",
    "connected",
    "last_seen",
]


VOLUMES = FIELDS[FIELDS.index("flow_rate") : FIELDS.index("total") + 1]


def close(found: float, wanted: float, decimals: int) -> bool:
    """Equal to the published precision (half a unit of the last decimal)."""
    return math.isclose(found, wanted, abs_tol=0.5 * 10**-decimals + 1e-9)


def counted(state: Any) -> bool:
    """Whether the meter has counted at least one settled minute."""
    return bool(state["total_through"] != state["total_since"])


@pytest.mark.parametrize("units", sorted(UNIT_SYSTEMS))
def test_every_field_equals_the_truth(
    units: str,
    sim_factory: SimFactory,
    broker: Broker,
    watch: Subscriber,
    tmp_path: Path,
) -> None:
    """Each window, the flow and the counter equal /_sim/truth, in every UNITS."""
    sim = sim_factory(latency_minutes=0, leak=True)
    check_every_field(sim, units, broker, watch, tmp_path)


def check_every_field(
    sim: Simulator,
    units: str,
    broker: Broker,
    watch: Subscriber,
    tmp_path: Path,
    null: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Run the bridge on `sim` until it has counted; every field must be the truth.

    The fields in `null` must be null, every other volume known. Returns the state
    checked (tests/e2e/test_run_readings.py reuses this).
    """
    device = next(d for d in sim.model.account.devices if d.type == 2)
    tz = sim.model.account.locations[0].tz
    env = bridge_env(
        sim, broker, tmp_path / "state", UNITS=units, METER_OFFSET="1000.5"
    )
    bridge = BridgeProcess(env, tmp_path / "bridge.log")
    try:
        first = newest_state(watch, device.id, today=lambda v: v is not None)
        assert list(first) == FIELDS
        sim.clock.advance(600)
        watch.send("flume/command/refresh", b"go")
        since = first["total_since"]
        state = newest_state(
            watch, device.id, total_through=lambda v: v not in (None, since)
        )
    finally:
        assert bridge.stop() == 0, bridge.text()
    system = UNIT_SYSTEMS[units]
    assert (state["unit"], state["flow_unit"]) == (system.volume, system.flow)
    for name in VOLUMES:
        assert (state[name] is None) is (name in null), (name, state[name])
    wanted = expected_state(sim, state, tz, units, offset=1000.5)
    for name in null:
        del wanted[name]
    for name, value in wanted.items():
        decimals = (
            system.flow_decimals if name == "flow_rate" else system.volume_decimals
        )
        if name == "total":
            decimals += 3
        assert close(state[name], value, decimals), (name, state[name], value)
    assert state["flowing"] is (state["flow_rate"] > 0)
    # The counter starts at the minute the bridge first saw the sensor and runs to
    # the newest settled minute: three minutes before the windows' end.
    assert state["total_since"] == first["updated_at"]
    assert parse_utc(state["updated_at"]) - parse_utc(
        state["total_through"]
    ) == timedelta(minutes=3)
    return dict(state)


def test_every_topic_appears(
    sim_factory: SimFactory, broker: Broker, watch: Subscriber, tmp_path: Path
) -> None:
    """Status, diagnostics, availability, discovery and the Flume Bridge's state."""
    sim = sim_factory(latency_minutes=0)
    devices = sim.model.account.devices
    sensor = next(d for d in devices if d.type == 2)
    hub = next(d for d in devices if d.type == 1)
    bridge = BridgeProcess(bridge_env(sim, broker, tmp_path / "s"), tmp_path / "log")
    try:
        newest_state(watch, sensor.id, today=lambda v: v is not None)
        watch.wait_topic("flume/status", b"online")
        watch.wait_topic(f"flume/{sensor.id}/availability", b"online")
        hub_state = watch.wait_topic(f"flume/{hub.id}/state").json()
        config = watch.wait_topic(f"homeassistant/device/flume_{sensor.id}/config")
        diagnostics = watch.wait_for(
            lambda seen: any(
                s.topic == "flume/diagnostics"
                and s.json()["last_success"].get(sensor.id)
                for s in seen
            )
        )
    finally:
        assert bridge.stop() == 0, bridge.text()
    assert set(hub_state) == {"device_id", "connected", "last_seen"}
    assert "total" in config.json()["cmps"]
    document = [s for s in diagnostics if s.topic == "flume/diagnostics"][-1].json()
    assert set(document) == {
        "version", "started_at", "request_plan", "requests_last_hour", "last_error",
        "last_success", "flume_remaining",
    }  # fmt: skip
    assert document["request_plan"]["usage_interval"] == 60
    assert 1 <= document["requests_last_hour"] <= 10
    assert watch.on("flume/status")[-1].payload == b"offline"

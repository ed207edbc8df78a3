"""`flume-mqtt run`: away mode from MQTT to Flume's location and back to the switch."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bridge.simulator.server import Simulator
from tests.support.bridge import BridgeProcess, bridge_env, newest_state
from tests.support.broker import Broker
from tests.support.flume import add_fault, route_count, sim_stats
from tests.support.mqtt import Subscriber
from tests.support.simulator import SimFactory

PATCH = "PATCH /users/{uid}/locations/{lid}"
READ = "GET /users/{uid}/locations/{lid}"
CYCLE = 60.0  # seconds: the usage interval of the default plan for one sensor


def flume_away(sim: Simulator, location_id: int) -> bool:
    """The location's away_mode as the simulator holds it (scenery, not under test)."""
    location = sim.model.account.location(location_id)
    assert location is not None
    return bool(sim.model.location_json(location)["away_mode"])


def payloads(watch: Subscriber, topic: str) -> list[bytes]:
    return [seen.payload for seen in watch.on(topic)]


def start(
    sim: Simulator, broker: Broker, watch: Subscriber, tmp_path: Path
) -> tuple[BridgeProcess, int, str]:
    """Run the bridge until its first state and the location's away mode are out."""
    sensor = next(d for d in sim.model.account.devices if d.type == 2)
    bridge = BridgeProcess(
        bridge_env(sim, broker, tmp_path / "state"), tmp_path / "bridge.log"
    )
    newest_state(watch, sensor.id, today=lambda v: v is not None)
    topic = f"flume/{sensor.location_id}/away_mode"
    watch.wait_topic(topic, b"OFF")
    return bridge, sensor.location_id, sensor.id


def test_on_reaches_flume_within_a_cycle_and_the_switch_follows(
    sim_factory: SimFactory, broker: Broker, watch: Subscriber, tmp_path: Path
) -> None:
    """ON sets Flume's away_mode with one PATCH and one read; the switch shows it."""
    sim = sim_factory(latency_minutes=0)
    bridge, location_id, sensor_id = start(sim, broker, watch, tmp_path)
    topic = f"flume/{location_id}/away_mode"
    try:
        config: Any = watch.wait_topic(
            f"homeassistant/device/flume_{sensor_id}/config"
        ).json()
        switch = config["cmps"]["away_mode"]
        assert (switch["platform"], switch["state_topic"]) == ("switch", topic)
        assert switch["command_topic"] == f"{topic}/set"
        watch.send(f"{topic}/set", b"maybe")  # neither ON nor OFF: ignored
        asked = time.monotonic()
        watch.send(f"{topic}/set", b"ON")
        watch.wait_for(lambda _: flume_away(sim, location_id), timeout=CYCLE)
        at_flume = time.monotonic() - asked
        watch.wait_topic(topic, b"ON")
        on_switch = time.monotonic() - asked
        stats = sim_stats(sim)
    finally:
        assert bridge.stop() == 0, bridge.text()
    print(  # noqa: T201  # the figures the report quotes
        f"\naway ON: at Flume in {at_flume:.2f} s, on the switch in {on_switch:.2f} s"
    )
    assert on_switch < CYCLE
    assert route_count(sim, PATCH) == 1  # "maybe" cost nothing
    assert route_count(sim, READ) == 1
    assert "429" not in stats["by_status"], stats
    assert "ignored b'maybe'" in bridge.text()
    assert payloads(watch, topic)[-1] == b"ON"


def test_a_refused_patch_leaves_the_switch_at_flumes_value(
    sim_factory: SimFactory, broker: Broker, watch: Subscriber, tmp_path: Path
) -> None:
    """Flume refusing the PATCH: logged, the switch re-told OFF, Flume still OFF."""
    sim = sim_factory(latency_minutes=0)
    bridge, location_id, _sensor = start(sim, broker, watch, tmp_path)
    topic = f"flume/{location_id}/away_mode"
    add_fault(sim, route="/users/*/locations/*", method="PATCH", status=400)
    try:
        before = len(payloads(watch, topic))
        watch.send(f"{topic}/set", b"ON")
        watch.wait_for(lambda _: len(payloads(watch, topic)) > before, timeout=CYCLE)
    finally:
        assert bridge.stop() == 0, bridge.text()
    assert payloads(watch, topic)[before:] == [b"OFF"]
    assert flume_away(sim, location_id) is False
    assert route_count(sim, PATCH) == 1
    assert route_count(sim, READ) == 0
    warnings = [
        line
        for line in bridge.text().splitlines()
        if "WARNING" in line and f"away mode {location_id}" in line
    ]
    assert len(warnings) == 1, bridge.text()
    assert "400" in warnings[0]

"""The Service's away-mode command: from the broker to Flume's location, in process."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bridge.simulator.server import Simulator
from tests.support.bridge import newest_state
from tests.support.broker import Broker
from tests.support.flume import route_count
from tests.support.mqtt import Subscriber
from tests.support.service import running, service_settings

PATCH = "PATCH /users/{uid}/locations/{lid}"


def test_off_while_off_is_one_patch_and_the_switch_stays_off(
    sim: Simulator,
    broker: Broker,
    watch: Subscriber,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """OFF when Flume says OFF: still one PATCH (Flume decides), the state stays OFF."""
    caplog.set_level(logging.INFO)
    sensor = sim.model.account.sensors[0]
    topic = f"flume/{sensor.location_id}/away_mode"
    with running(service_settings(sim, broker, tmp_path / "state")) as service:
        newest_state(watch, sensor.id, today=lambda v: v is not None)
        watch.wait_topic(topic, b"OFF")
        watch.send(f"{topic}/set", b"OFF")
        watch.wait_for(
            lambda _: any(
                "away mode of location" in r.getMessage() for r in list(caplog.records)
            )
        )
        assert service.finish() is None
    assert route_count(sim, PATCH) == 1
    assert [seen.payload for seen in watch.on(topic)] == [b"OFF"]

"""Jobs after a start: no nulls over the last run's readings; one WARNING a streak."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
import requests

from bridge.errors import FlumeError
from bridge.meter import Meter
from bridge.simulator.server import Simulator
from tests.support.flume import add_fault
from tests.support.service import JobsFactory, replace_on_same_port
from tests.support.simulator import START, SimFactory


def sensor_and_hub(sim: Simulator) -> tuple[str, str]:
    """The ids of the simulator's sensor and of its Flume Bridge."""
    sensor = sim.model.account.sensors[0].id
    hub = next(d.id for d in sim.model.account.devices if d.type == 1)
    return sensor, hub


def test_the_device_list_publishes_no_sensor_state_before_its_usage(
    sim: Simulator,
    make_jobs: JobsFactory,
) -> None:
    """devices(): the hub's state goes out, the sensor's waits; usage() sends it."""
    sensor, hub = sensor_and_hub(sim)
    jobs, published = make_jobs(sim)
    jobs.devices()
    jobs.leaks(sensor)
    assert published.on(f"flume/{sensor}/state") == []
    assert published.state(hub)["connected"] is True
    jobs.usage(sensor)
    first = published.state(sensor)
    assert len(published.on(f"flume/{sensor}/state")) == 1
    assert first["total"] is not None
    assert first["today"] is not None
    assert first["leak"] is False


def test_a_failed_first_poll_of_a_new_sensor_sends_the_meters_total(
    sim: Simulator,
    make_jobs: JobsFactory,
) -> None:
    """Nothing retained to blank: the count (METER_OFFSET) goes out, the rest null."""
    sensor, _ = sensor_and_hub(sim)
    jobs, published = make_jobs(sim, meter_offset=250.0)
    jobs.devices()
    add_fault(sim, status=503, count=5)
    with pytest.raises(FlumeError):
        jobs.usage(sensor)
    state = published.state(sensor)
    assert (state["total"], state["today"], state["flow_rate"]) == (250.0, None, None)
    assert published.on(f"flume/{sensor}/availability")[-1] == b"offline"


def test_a_failed_first_poll_of_a_known_sensor_leaves_the_retained_state(
    sim: Simulator,
    make_jobs: JobsFactory,
    tmp_path: Path,
) -> None:
    """A sensor counted by an earlier run: no state until Flume answers."""
    sensor, _ = sensor_and_hub(sim)
    Meter(tmp_path / "state").begin(sensor, START)
    jobs, published = make_jobs(sim)
    jobs.devices()
    add_fault(sim, status=503, count=5)
    for _ in range(2):
        with pytest.raises(FlumeError):
            jobs.usage(sensor)
    requests.delete(f"{sim.url}/_sim/faults", timeout=10).raise_for_status()
    jobs.alerts()
    assert published.on(f"flume/{sensor}/state") == []
    jobs.usage(sensor)
    assert published.state(sensor)["today"] is not None


def test_a_leak_releases_a_known_sensor_whose_first_poll_failed(
    sim_factory: SimFactory,
    make_jobs: JobsFactory,
    tmp_path: Path,
) -> None:
    """No usage answer but a leak: the state goes out with the leak and the total."""
    sim = sim_factory(leak=True)
    sensor, _ = sensor_and_hub(sim)
    Meter(tmp_path / "state").begin(sensor, START)
    jobs, published = make_jobs(sim, meter_offset=7.0)
    jobs.devices()
    jobs.leaks(sensor)  # before any usage poll failed: still held
    assert published.on(f"flume/{sensor}/state") == []
    add_fault(sim, status=503, count=5, route="*/query")
    with pytest.raises(FlumeError):
        jobs.usage(sensor)
    state = published.state(sensor)
    assert (state["leak"], state["total"], state["today"]) == (True, 7.0, None)


def test_a_missing_location_is_one_warning_per_streak(
    sim: Simulator,
    make_jobs: JobsFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Polls without a location: one WARNING, then DEBUG; again once it came back."""
    caplog.set_level(logging.DEBUG, logger="bridge.service.jobs")
    sensor, _ = sensor_and_hub(sim)
    jobs, _ = make_jobs(sim)
    jobs.devices()
    listed = jobs.board.device(sensor)
    assert listed is not None
    homeless = dataclasses.replace(listed, location_id=None, location=None)
    for device in (homeless, homeless, homeless, listed, homeless):
        jobs.board.replace_devices([device])
        jobs.usage(sensor)
    said = [(r.levelname, r.message) for r in caplog.records if "location" in r.message]
    assert [level for level, _ in said] == [
        "WARNING",
        "DEBUG",
        "DEBUG",
        "INFO",
        "WARNING",
    ]
    assert said[3][1] == f"device {sensor} has a location again"


def test_a_selected_device_gone_from_the_account_is_one_warning_per_streak(
    sim_factory: SimFactory,
    make_jobs: JobsFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Gone, gone, back, gone: WARNING, DEBUG, INFO, WARNING."""
    caplog.set_level(logging.DEBUG, logger="bridge.service.jobs")
    sim = sim_factory(sensors=2)
    leaving = sim.model.account.sensors[1].id
    jobs, _ = make_jobs(sim, flume_device_ids=(leaving,))
    jobs.devices()
    try:
        for sensors in (1, 1, 2, 1):
            sim = replace_on_same_port(sim, sensors=sensors)
            jobs.devices()
    finally:
        sim.stop()
    said = [r.levelname for r in caplog.records if "the account" in r.message]
    assert said == ["WARNING", "DEBUG", "INFO", "WARNING"]

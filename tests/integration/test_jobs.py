"""Jobs against the simulator, one call at a time: what each job publishes and when."""

from __future__ import annotations

import json
import logging

import pytest
import requests

from bridge.errors import ConfigError, FlumeRateLimitError
from bridge.service import Jobs
from bridge.simulator.server import Simulator
from tests.support.flume import route_count, sim_stats
from tests.support.service import JobsFactory, Published, replace_on_same_port
from tests.support.simulator import SimFactory

QUERY = "POST /users/{uid}/devices/{did}/query"


def set_device(sim: Simulator, device_id: str, **fields: object) -> None:
    """POST /_sim/devices/{id}: connectivity or battery."""
    url = f"{sim.url}/_sim/devices/{device_id}"
    requests.post(url, json=fields, timeout=10).raise_for_status()


@pytest.mark.parametrize("selected", [False, True])
def test_a_device_that_leaves_the_account_gets_empty_retained_configs(
    sim_factory: SimFactory,
    make_jobs: JobsFactory,
    caplog: pytest.LogCaptureFixture,
    selected: bool,
) -> None:
    """A sensor missing from the next list: config, state and availability emptied."""
    caplog.set_level(logging.INFO)
    sim = sim_factory(sensors=2)
    leaving = sim.model.account.sensors[1].id
    fields = {"flume_device_ids": (leaving,)} if selected else {}
    jobs, published = make_jobs(sim, **fields)
    jobs.devices()
    assert published.on(f"homeassistant/device/flume_{leaving}/config")[-1] != b""
    other = replace_on_same_port(sim, sensors=1)
    try:
        jobs.devices()
        jobs.usage(leaving)  # a poll planned before it left does nothing
        jobs.leaks(leaving)
        assert route_count(other, QUERY) == 0
    finally:
        other.stop()
    for topic in (
        f"homeassistant/device/flume_{leaving}/config",
        f"flume/{leaving}/state",
        f"flume/{leaving}/availability",
    ):
        assert published.on(topic)[-1] == b"", topic
    assert all(m.retain for m in published if m.payload == b"")
    assert leaving not in [d.id for d in jobs.board.devices()]
    warned = [r for r in caplog.records if "no longer in the account" in r.message]
    assert len(warned) == int(selected)


def polled(sim: Simulator, make_jobs: JobsFactory) -> tuple[Jobs, Published]:
    """Jobs that have listed the devices and polled the sensor's usage once."""
    jobs, published = make_jobs(sim)
    jobs.devices()
    jobs.usage(sim.model.account.sensors[0].id)
    return jobs, published


def test_a_disconnected_sensor_is_offline_even_with_fresh_usage(
    sim: Simulator, make_jobs: JobsFactory
) -> None:
    """A sensor the list says is not connected is `offline`; its state says so."""
    sensor = sim.model.account.sensors[0].id
    set_device(sim, sensor, connected=False)
    _, published = polled(sim, make_jobs)
    assert published.state(sensor)["connected"] is False
    assert published.state(sensor)["today"] is not None
    assert published.on(f"flume/{sensor}/availability") == [b"offline"]


def test_availability_is_published_when_it_changes_and_logged(
    sim: Simulator, make_jobs: JobsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Availability: `offline` until the first usage, then `online`; sent on change."""
    caplog.set_level(logging.INFO)
    sensor = sim.model.account.sensors[0].id
    jobs, published = polled(sim, make_jobs)
    jobs.housekeeping()
    assert published.on(f"flume/{sensor}/availability") == [b"offline", b"online"]
    assert f"sensor {sensor} is online" in caplog.text
    assert len(published.on("flume/diagnostics")) == 1


def test_a_jump_of_flumes_clock_polls_again_for_the_right_windows(
    sim: Simulator, make_jobs: JobsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """An answer moving Flume's time by an hour: a second query at the new time."""
    caplog.set_level(logging.INFO)
    sensor = sim.model.account.sensors[0].id
    jobs, published = polled(sim, make_jobs)
    assert route_count(sim, QUERY) == 1
    sim.clock.advance(3600)
    jobs.usage(sensor)
    assert route_count(sim, QUERY) == 3
    assert "Flume's time moved by" in caplog.text
    assert published.state(sensor)["updated_at"] == "2026-03-10T19:30:00Z"


def test_new_alerts_are_events_and_high_flow_is_in_the_state(
    sim: Simulator, make_jobs: JobsFactory
) -> None:
    """The first alerts poll only sets a watermark; a later low battery is one event."""
    sensor = sim.model.account.sensors[0].id
    # A sensor's state goes out once its usage has answered.
    jobs, published = polled(sim, make_jobs)
    jobs.alerts()
    assert published.on(f"flume/{sensor}/event") == []
    assert published.state(sensor)["high_flow"] is False
    sim.clock.advance(30)
    set_device(sim, sensor, battery_level="low")
    jobs.alerts()
    events = [json.loads(p) for p in published.on(f"flume/{sensor}/event")]
    assert [e["type"] for e in events] == ["low_battery"]
    assert not [m for m in published if m.topic.endswith("/event") and m.retain]


def test_a_two_request_job_is_not_started_without_room_for_both(
    sim: Simulator, make_jobs: JobsFactory
) -> None:
    """Devices then locations: with one request left, neither is sent."""
    jobs, _ = make_jobs(sim, flume_requests_per_hour=2)
    with pytest.raises(FlumeRateLimitError, match="request budget spent"):
        jobs.devices()  # the login took one of the two
    sent = sim_stats(sim)["total"]
    with pytest.raises(FlumeRateLimitError, match="no room for 2 requests") as caught:
        jobs.devices()
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 3500
    assert sim_stats(sim)["total"] == sent
    assert not jobs.board.listed


def test_a_budget_too_small_for_the_device_list_is_a_configuration_error(
    sim: Simulator, make_jobs: JobsFactory
) -> None:
    """One request an hour can never list devices and locations: exit 78, not a loop."""
    jobs, _ = make_jobs(sim, flume_requests_per_hour=1)
    with pytest.raises(ConfigError, match="FLUME_REQUESTS_PER_HOUR: 1 is too small"):
        jobs.devices()
    assert sim_stats(sim)["total"] == 0


def test_a_second_list_of_the_same_devices_publishes_nothing_new(
    sim: Simulator, make_jobs: JobsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Unchanged discovery and states are not sent again; `serving` is logged once."""
    caplog.set_level(logging.INFO)
    jobs, published = make_jobs(sim)
    jobs.devices()
    count = len(published)
    jobs.devices()
    assert len(published) == count
    assert sum(m.startswith("serving ") for m in caplog.messages) == 1

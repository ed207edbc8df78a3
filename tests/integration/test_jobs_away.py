"""The away-mode job against the simulator: one PATCH, within budget, never a guess."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bridge.errors import FlumeRateLimitError
from bridge.flume.budget import RequestBudget
from bridge.service import Jobs
from bridge.simulator.server import Simulator
from tests.support.flume import route_count
from tests.support.service import JobsFactory, Published, replace_on_same_port
from tests.support.simulator import SimFactory

PATCH = "PATCH /users/{uid}/locations/{lid}"
READ = "GET /users/{uid}/locations/{lid}"


def jobs_budget(jobs: Jobs) -> RequestBudget:
    """The budget the jobs spend (the fixture hands out the jobs only)."""
    budget: RequestBudget = jobs._parts.budget  # a test's look inside
    return budget


def listed(
    sim: Simulator, make_jobs: JobsFactory, **fields: Any
) -> tuple[Jobs, Published, int]:
    """Jobs that have listed the devices, what they sent, and the sensor's location."""
    jobs, published = make_jobs(sim, **fields)
    jobs.devices()
    return jobs, published, sim.model.account.sensors[0].location_id


def test_a_command_without_room_in_the_budget_is_refused_and_the_state_retold(
    sim_factory: SimFactory,
    make_jobs: JobsFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No room: no PATCH is sent, Flume stays OFF and the switch is told OFF again."""
    sim = sim_factory()
    jobs, published, location = listed(sim, make_jobs, flume_requests_per_hour=5)
    topic = f"flume/{location}/away_mode"
    assert published.on(topic) == [b"OFF"]
    while True:  # spend the hour's budget on usage polls
        try:
            jobs.usage(sim.model.account.sensors[0].id)
        except FlumeRateLimitError:
            break
    caplog.set_level(logging.DEBUG)
    with pytest.raises(FlumeRateLimitError, match="budget"):
        jobs.away.set(location, True)
    assert published.on(topic) == [b"OFF", b"OFF"]
    assert f"away mode of location {location} not set: not sent" in caplog.text
    assert route_count(sim, PATCH) == 0
    assert sim.model.location_json(sim.model.account.locations[0])["away_mode"] is False


def test_a_location_without_a_served_sensor_costs_nothing(
    sim_factory: SimFactory,
    make_jobs: JobsFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A command for a location the bridge does not serve is logged and dropped."""
    sim = sim_factory()
    jobs, published, _ = listed(sim, make_jobs)
    caplog.set_level(logging.INFO)
    jobs.away.set(424242, True)
    assert "no sensor served at location 424242" in caplog.text
    assert route_count(sim, PATCH) == 0
    assert not [m for m in published if m.topic == "flume/424242/away_mode"]


def test_off_after_on_reads_back_each_time_within_budget(
    sim_factory: SimFactory,
    make_jobs: JobsFactory,
) -> None:
    """ON then OFF: two PATCHes and two reads; the retained state follows Flume."""
    sim = sim_factory()
    jobs, published, location = listed(sim, make_jobs)
    jobs.away.set(location, True)
    jobs.away.set(location, False)
    assert published.on(f"flume/{location}/away_mode") == [b"OFF", b"ON", b"OFF"]
    assert (route_count(sim, PATCH), route_count(sim, READ)) == (2, 2)


def test_a_patch_that_takes_the_last_room_is_read_at_the_next_list(
    sim_factory: SimFactory,
    make_jobs: JobsFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No room left for the read: the switch keeps Flume's last word until a list."""
    sim = sim_factory()
    jobs, published, location = listed(sim, make_jobs, flume_requests_per_hour=5)
    budget = jobs_budget(jobs)
    while budget.available_in(room=2) == 0:  # leave exactly one request
        jobs.usage(sim.model.account.sensors[0].id)
    assert budget.available_in() == 0
    caplog.set_level(logging.INFO)
    jobs.away.set(location, True)
    assert (route_count(sim, PATCH), route_count(sim, READ)) == (1, 0)
    assert "read at the next list" in caplog.text
    assert published.on(f"flume/{location}/away_mode") == [b"OFF"]
    assert sim.model.location_json(sim.model.account.locations[0])["away_mode"] is True


def test_a_location_left_without_sensors_has_its_away_mode_cleared(
    sim_factory: SimFactory,
    make_jobs: JobsFactory,
) -> None:
    """When a location's last sensor leaves, its retained away mode is emptied."""
    sim = sim_factory(sensors=2, timezones=("America/Los_Angeles", "Europe/Berlin"))
    jobs, published = make_jobs(sim)
    jobs.devices()
    kept, left = (s.location_id for s in sim.model.account.sensors)
    assert kept != left
    other = replace_on_same_port(sim, sensors=1, timezones=("America/Los_Angeles",))
    try:
        assert other.model.account.sensors[0].location_id == kept
        jobs.devices()
    finally:
        other.stop()
    assert published.on(f"flume/{left}/away_mode") == [b"OFF", b""]
    assert published.on(f"flume/{kept}/away_mode") == [b"OFF"]

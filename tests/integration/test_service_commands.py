"""The Service's MQTT commands: refresh (with its gap and the budget) and republish."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bridge.simulator.server import Simulator
from tests.support.bridge import newest_state
from tests.support.broker import Broker
from tests.support.flume import route_count
from tests.support.mqtt import Subscriber
from tests.support.service import eventually, running, service_settings
from tests.support.simulator import SimFactory

QUERY = "POST /users/{uid}/devices/{did}/query"


@pytest.fixture
def info(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The log at INFO and above, from every thread."""
    caplog.set_level(logging.INFO)
    return caplog


def logged(caplog: pytest.LogCaptureFixture, text: str) -> int:
    """How many records so far contain `text`."""
    return sum(text in record.getMessage() for record in list(caplog.records))


def first_usage(watch: Subscriber, sim: Simulator) -> None:
    """Wait until the first sensor's usage has been published."""
    sensor = sim.model.account.sensors[0].id
    newest_state(watch, sensor, today=lambda v: v is not None)


def test_refresh_polls_every_sensor_and_a_second_one_soon_after_is_ignored(
    sim_factory: SimFactory,
    broker: Broker,
    watch: Subscriber,
    info: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """One query per sensor on `refresh`; another within REFRESH_GAP sends nothing."""
    sim = sim_factory(sensors=2)
    with running(service_settings(sim, broker, tmp_path / "state")) as service:
        first_usage(watch, sim)
        eventually(lambda: route_count(sim, QUERY) == 2)
        watch.send("flume/command/refresh", b"PRESS")
        eventually(lambda: route_count(sim, QUERY) == 4)
        watch.send("flume/command/refresh", b"PRESS")
        eventually(lambda: logged(info, "refresh ignored: the last one was") == 1)
        assert service.finish() is None
    assert route_count(sim, QUERY) == 4
    assert logged(info, "refreshing 2 sensors on request") == 1


def test_republish_sends_discovery_and_states_again(
    sim: Simulator,
    broker: Broker,
    watch: Subscriber,
    info: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """`republish` re-sends the retained discovery config and states."""
    sensor = sim.model.account.sensors[0].id
    config = f"homeassistant/device/flume_{sensor}/config"
    with running(service_settings(sim, broker, tmp_path / "state")) as service:
        first_usage(watch, sim)
        before = len(watch.on(config)), len(watch.on(f"flume/{sensor}/state"))
        watch.send("flume/command/republish", b"")
        watch.wait_for(lambda _: len(watch.on(config)) == before[0] + 1)
        watch.wait_for(lambda _: len(watch.on(f"flume/{sensor}/state")) > before[1])
        assert service.finish() is None
    assert logged(info, "republishing discovery and states on request") == 1
    assert watch.on(config)[-1].payload == watch.on(config)[0].payload


def test_a_refresh_the_budget_cannot_hold_is_refused(
    sim_factory: SimFactory,
    broker: Broker,
    watch: Subscriber,
    info: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """More sensors than the hour's budget has left: refresh waits, never crashes."""
    sim = sim_factory(sensors=7)
    settings = service_settings(
        sim, broker, tmp_path / "state", flume_requests_per_hour=8
    )
    with running(settings) as service:
        eventually(lambda: logged(info, "first states published") == 1)
        watch.send("flume/command/refresh", b"go")
        eventually(lambda: logged(info, "refresh ignored: the budget has room") == 1)
        queries = route_count(sim, QUERY)
        assert service.finish() is None
    assert queries == route_count(sim, QUERY) == 1  # the rest of the budget: leaks


def test_without_a_sensor_only_devices_and_alerts_are_served(
    sim: Simulator,
    broker: Broker,
    watch: Subscriber,
    info: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """FLUME_DEVICE_IDS naming only the Flume Bridge: its state, no poll or refresh."""
    hub = next(d.id for d in sim.model.account.devices if not d.is_sensor)
    settings = service_settings(
        sim, broker, tmp_path / "state", flume_device_ids=(hub,)
    )
    with running(settings) as service:
        watch.wait_topic(f"flume/{hub}/state")
        eventually(lambda: logged(info, "no water sensor in the account") == 1)
        watch.send("flume/command/refresh", b"go")
        eventually(lambda: logged(info, "refresh ignored") == 1)
        assert service.finish() is None
    assert route_count(sim, QUERY) == 0
    assert logged(info, "first states published") == 1

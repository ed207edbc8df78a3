"""The Service in-process against the simulator and mosquitto: start, systemd, stop."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from bridge.simulator.server import Simulator
from tests.support.bridge import newest_state
from tests.support.broker import Broker
from tests.support.mqtt import Subscriber
from tests.support.service import (
    built,
    datagrams,
    eventually,
    replace_on_same_port,
    running,
    service_settings,
)
from tests.support.simulator import SimFactory


def sensor_of(sim: Simulator) -> str:
    """The id of the simulator's first water sensor."""
    return sim.model.account.sensors[0].id


def hub_of(sim: Simulator) -> str:
    """The id of the simulator's first Flume Bridge."""
    return next(d.id for d in sim.model.account.devices if not d.is_sensor)


def test_first_start_publishes_every_topic(
    sim: Simulator, broker: Broker, watch: Subscriber, tmp_path: Path
) -> None:
    """Discovery, states, availability, diagnostics and `online`, then `offline`."""
    sensor, hub = sensor_of(sim), hub_of(sim)
    with running(service_settings(sim, broker, tmp_path / "state")) as service:
        state = newest_state(watch, sensor, today=lambda v: v is not None)
        watch.wait_topic(f"flume/{sensor}/availability", b"online")
        watch.wait_topic(f"flume/{hub}/state")
        watch.wait_topic(f"homeassistant/device/flume_{sensor}/config")
        watch.wait_topic("flume/status", b"online")
        watch.wait_for(
            lambda seen: any(
                s.topic == "flume/diagnostics" and s.json()["last_success"][sensor]
                for s in seen
            )
        )
        assert service.finish() is None
    assert state["location"] == "Home"
    watch.wait_topic("flume/status", b"offline")


def test_systemd_hears_ready_watchdog_status_and_stopping(
    sim: Simulator,
    broker: Broker,
    watch: Subscriber,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """READY=1 once at start, WATCHDOG=1 repeatedly, STOPPING=1 last."""
    sent: list[str] = []

    def heard(datagram: str, count: int = 1) -> bool:
        sent.extend(datagrams(sock))
        return sent.count(datagram) >= count

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(tmp_path / "notify"))
        monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
        monkeypatch.setenv("WATCHDOG_USEC", "200000")  # a ping every 0.1 s
        with running(service_settings(sim, broker, tmp_path / "state")) as service:
            eventually(lambda: heard("READY=1"))
            # Not held back for Flume or the broker: the first states come after it.
            eventually(lambda: any(service.service.jobs.board.last_success().values()))
            eventually(lambda: heard("WATCHDOG=1", 4))
            assert service.finish() is None
        heard("STOPPING=1")
    assert sent.count("READY=1") == 1
    assert sent[-1] == "STOPPING=1"
    statuses = [s for s in sent if s.startswith("STATUS=")]
    assert statuses[-1].startswith("STATUS=1 sensor; broker connected; ")
    assert statuses[-1].endswith("/100 Flume requests in the last hour")


def test_the_plan_stays_while_the_sensors_do_and_follows_a_new_one(
    sim_factory: SimFactory,
    broker: Broker,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A device list with the same sensors keeps the schedule; a new sensor replans."""
    caplog.set_level(logging.INFO)
    sim = sim_factory(sensors=1)
    settings = service_settings(sim, broker, tmp_path / "state")
    with built(settings) as service:
        # The devices job itself: in the loop it runs every 26 minutes.
        service._devices()
        planned = service.jobs.plan
        service._devices()
        assert service.jobs.plan is planned
        grown = replace_on_same_port(sim, sensors=2)
        try:
            service._devices()
        finally:
            grown.stop()
    plans = [m for m in caplog.messages if m.startswith("request plan: ")]
    assert [p.split(" at ")[0] for p in plans] == [
        "request plan: 1 sensor",
        "request plan: 2 sensors",
    ]

"""ServerClock fed by FlumeHttp from the simulator's Date header: Flume's now."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import requests

from bridge.errors import FlumeProtocolError
from bridge.flume.clock import ServerClock
from bridge.flume.http import FlumeHttp
from bridge.simulator.server import Simulator
from tests.support.flume import RecordingBudget
from tests.support.simulator import PASSWORD_GRANT, START, SimFactory

TOLERANCE = timedelta(seconds=2)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as opened:
        yield opened


def sim_now(sim: Simulator) -> datetime:
    """The simulated now, as GET /_sim/clock reports it."""
    response = requests.get(f"{sim.url}/_sim/clock", timeout=10)
    return datetime.fromisoformat(response.json()["now"])


def test_server_clock_follows_the_simulated_clock(
    sim_factory: SimFactory, session: requests.Session
) -> None:
    """After any answer, now() is the simulator's time, before and after it jumps."""
    sim = sim_factory()
    clock = ServerClock()
    http = FlumeHttp(session, sim.url, 5.0, RecordingBudget(), server_clock=clock)
    http.request("POST", "/oauth/token", body=PASSWORD_GRANT)
    assert abs(clock.now() - sim_now(sim)) <= TOLERANCE
    assert abs(clock.now() - START) <= TOLERANCE
    jumped = requests.post(f"{sim.url}/_sim/clock", json={"advance": 7200}, timeout=10)
    jumped.raise_for_status()
    with pytest.raises(FlumeProtocolError):
        http.request("GET", "/users/1/devices")  # an error answer has a Date too
    assert abs(clock.now() - sim_now(sim)) <= TOLERANCE
    assert abs(clock.now() - (START + timedelta(hours=2))) <= TOLERANCE


def test_without_a_server_clock_nothing_is_observed(
    sim: Simulator, session: requests.Session
) -> None:
    """The hook is optional: FlumeHttp works as before without one."""
    http = FlumeHttp(session, sim.url, 5.0, RecordingBudget())
    envelope = http.request("POST", "/oauth/token", body=PASSWORD_GRANT)
    assert envelope.data

"""Dry minutes `flume-mqtt run` has not saved: saved at a stop, read after a kill.

A poll that only moves `through` leaves meter.json and rules.json alone for up to 15
minutes (SAVE_DRY). The simulator's clock is frozen and moved by the test in a UTC
household before 04:00, where every drop is the test's own leak.
"""

from __future__ import annotations

import logging
import math
import signal
from datetime import datetime
from pathlib import Path

import pytest

from bridge.alerts.rulebook import RULES_FILE
from bridge.alerts.rulesfile import decode
from bridge.meter import METER_FILE, SAVE_DRY
from bridge.meter.file import read
from bridge.models import UNIT_SYSTEMS
from bridge.service.board import Board
from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator
from tests.conftest import BrokerFactory
from tests.e2e.test_run_rules import START, at, leak, poll
from tests.e2e.test_run_timezones import first
from tests.support.bridge import BridgeProcess, bridge_env, expected_state, states
from tests.support.clock import parse_utc
from tests.support.mqtt import Subscriber, subscriber
from tests.support.simulator import SimFactory

OFFSET = "100"  # METER_OFFSET
UNITS = "gallons"
DRIP = 1.0  # gallons a minute, ONSET to ONSET + 4
DRY = 10  # minutes polled dry after the drip's session ended: under SAVE_DRY

log = logging.getLogger(__name__)


class Run:
    """A simulator, a broker and the state directory of `flume-mqtt run`."""

    def __init__(
        self, sim: Simulator, broker_factory: BrokerFactory, tmp_path: Path
    ) -> None:
        self.sim = sim
        self.sensor = sim.model.account.sensors[0].id
        self.state_dir = tmp_path / "state"
        broker = broker_factory()
        self.env = bridge_env(
            sim, broker, self.state_dir, METER_OFFSET=OFFSET, UNITS=UNITS
        )
        self.log = tmp_path / "bridge.log"
        self.broker = broker

    def start(self) -> BridgeProcess:
        """Start `flume-mqtt run` (its log appended to bridge.log)."""
        return BridgeProcess(self.env, self.log)

    def saved_through(self) -> tuple[datetime, datetime]:
        """`through` of the sensor in meter.json and in rules.json."""
        readings, _ = read(self.state_dir / METER_FILE)
        trackers = decode((self.state_dir / RULES_FILE).read_bytes())
        return readings[self.sensor].through, trackers[self.sensor].through

    def saved_total(self) -> float | None:
        """The `total` a state would publish for meter.json's count."""
        readings, _ = read(self.state_dir / METER_FILE)
        board = Board(UNIT_SYSTEMS[UNITS], float(OFFSET))
        return board.total(readings[self.sensor].gallons)


def dry_spell(run: Run, sub: Subscriber) -> None:
    """Water for 4 minutes, then DRY dry minutes polled.

    On return meter.json and rules.json hold the drip's session, not the dry minutes.
    """
    sub.wait_for(lambda _: first(sub, run.sensor) is not None, timeout=30)
    leak(run.sim, run.sensor, DRIP)  # from ONSET
    run.sim.clock.set(at(3))
    leak(run.sim, run.sensor, None)  # ends with the minute ONSET + 3
    run.sim.clock.set(at(9))  # settled through ONSET + 6: the session has ended
    wet = poll(sub, run.sim, run.sensor)
    run.sim.clock.set(at(9 + DRY))
    last = poll(sub, run.sim, run.sensor)
    assert last["total"] == wet["total"] > float(OFFSET), (wet, last)
    through = parse_utc(last["total_through"])
    assert through - parse_utc(wet["total_through"]) < SAVE_DRY
    # The dry minutes are in memory only: what the stop (or the kill) is about.
    assert all(saved < through for saved in run.saved_through()), run.saved_through()


def stopped_after_dry_spell(
    run: Run, sub: Subscriber, how: signal.Signals
) -> tuple[BridgeProcess, int]:
    """Start the bridge, go through the dry spell, stop it with `how`; its exit code."""
    bridge = run.start()
    try:
        dry_spell(run, sub)
    finally:
        code = bridge.stop(how)
    return bridge, code


@pytest.fixture
def run(sim_factory: SimFactory, broker_factory: BrokerFactory, tmp_path: Path) -> Run:
    """A UTC household at START, its minutes visible at once."""
    sim = sim_factory(
        clock=SimClock(START, speed=0.0), timezones=("UTC",), latency_minutes=0
    )
    return Run(sim, broker_factory, tmp_path)


@pytest.mark.timeout(120)  # about 7 s; its waits allow for a loaded machine
def test_a_stop_saves_the_dry_minutes(run: Run) -> None:
    """After SIGTERM, meter.json and rules.json hold every minute the states told."""
    with subscriber(run.broker, (f"flume/{run.sensor}/state",)) as sub:
        bridge, code = stopped_after_dry_spell(run, sub, signal.SIGTERM)
        assert code == 0, bridge.text()
        last = states(sub, run.sensor)[-1]
    meter, rules = run.saved_through()
    log.info(
        "last state: total %s through %s; meter.json through %s, rules.json %s",
        last["total"], last["total_through"], meter, rules,
    )  # fmt: skip
    through = parse_utc(last["total_through"])
    assert meter >= through, (meter, through)
    assert run.saved_total() == last["total"]
    # The rules judge each poll's minutes up to the meter's horizon, minute by minute.
    assert rules >= through, (rules, through)
    assert "Traceback" not in bridge.text()


@pytest.mark.timeout(120)  # about 7 s; its waits allow for a loaded machine
def test_a_kill_in_a_dry_spell_never_lowers_total(run: Run) -> None:
    """After SIGKILL with dry minutes unsaved, a restart counts them again: no lower."""
    with subscriber(run.broker, (f"flume/{run.sensor}/state",)) as sub:
        stopped_after_dry_spell(run, sub, signal.SIGKILL)
        lagging, _ = run.saved_through()
        before = len(states(sub, run.sensor))
        last = states(sub, run.sensor)[-1]
        bridge = run.start()
        try:
            sub.wait_for(lambda _: len(states(sub, run.sensor)) > before, timeout=60)
        finally:
            assert bridge.stop() == 0, bridge.text()
        after = states(sub, run.sensor)[before:]
    resumed = after[0]
    log.info(
        "before the kill: total %s through %s, meter.json through %s; after: %s",
        last["total"], last["total_through"], lagging,
        [(s["total"], s["total_through"]) for s in after],
    )  # fmt: skip
    assert resumed["total"] >= last["total"], (last, resumed)
    through = parse_utc(last["total_through"])
    assert parse_utc(resumed["total_through"]) >= through, (last, resumed)
    assert lagging < through, "meter.json held every minute: nothing read again"
    assert all(s["total"] >= last["total"] for s in after), after
    wanted = expected_state(run.sim, resumed, "UTC", UNITS, float(OFFSET))["total"]
    assert math.isclose(resumed["total"], wanted, abs_tol=0.0051), (resumed, wanted)
    assert "Traceback" not in bridge.text()

"""The counter gauntlet: every fault in one run, and `total` still equals the truth."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

from bridge.simulator.server import Simulator
from tests.conftest import BrokerFactory
from tests.support.bridge import (
    BridgeProcess,
    bridge_env,
    refresh_until,
)
from tests.support.broker import Broker
from tests.support.clock import parse_utc
from tests.support.flume import add_fault, sim_stats
from tests.support.mqtt import Subscriber, subscriber
from tests.support.simulator import SimFactory, truth

OFFSET = 500.0
LAG = timedelta(minutes=3)


def settled(sim: Simulator) -> str:
    """`total_through` once the bridge has polled at the simulator's now."""
    end = sim.clock.now().replace(second=0, microsecond=0)
    return (end - LAG).strftime("%Y-%m-%dT%H:%M:%SZ")


def states(sub: Subscriber, device_id: str) -> list[dict[str, Any]]:
    """Every state of the sensor published with a counter, oldest first."""
    found = [s.json() for s in sub.on(f"flume/{device_id}/state") if s.payload]
    return [state for state in found if state.get("total") is not None]


def reach(sub: Subscriber, device_id: str, through: str) -> dict[str, Any]:
    """Refresh until a state counts through `through`; return it."""

    def counted() -> list[dict[str, Any]]:
        return [s for s in states(sub, device_id) if s["total_through"] == through]

    refresh_until(sub, lambda: bool(counted()), f"a state counted through {through}")
    return counted()[0]


@dataclass
class Gauntlet:
    """One bridge (restarted as the phases demand) against one simulator and broker."""

    sim: Simulator
    broker: Broker
    sub: Subscriber
    env: dict[str, str]
    logs: Path
    sensor: str
    bridge: BridgeProcess | None = None

    def start(self) -> None:
        """Start `flume-mqtt run`."""
        self.bridge = BridgeProcess(self.env, self.logs)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Stop the bridge with `sig`; return its exit code."""
        assert self.bridge is not None
        return self.bridge.stop(sig)

    def step(self, minutes: float) -> dict[str, Any]:
        """Let `minutes` of water run, then see them counted."""
        self.sim.clock.advance(minutes * 60)
        return reach(self.sub, self.sensor, settled(self.sim))

    def outage(self) -> None:
        """Flume away: every request fails; values stay and nothing crashes."""
        add_fault(self.sim, status=503, count=1000)
        self.sim.clock.advance(20 * 60)
        refresh_until(
            self.sub,
            lambda: "503" in (_diagnostics(self.sub).get("last_error") or ""),
            "HTTP 503 in the diagnostics",
        )
        requests.delete(f"{self.sim.url}/_sim/faults", timeout=10).raise_for_status()
        self.step(5)

    def storm_and_revocation(self) -> None:
        """Three 429s with Retry-After, then every token revoked."""
        add_fault(self.sim, status=429, retry_after=2, count=3)
        self.step(7)
        add_fault(self.sim, revoke_tokens="all")
        self.step(11)

    def broker_restart(self) -> None:
        """The broker restarts; the bridge reconnects and goes on."""
        self.broker.restart()
        self.step(13)

    def killed(self) -> None:
        """SIGKILL, 45 minutes of water while down, then a restart."""
        self.stop(signal.SIGKILL)
        self.sim.clock.advance(45 * 60)
        self.start()
        self.step(1)

    def stopped(self, hours: float) -> None:
        """A clean stop of some hours, then a restart."""
        assert self.stop() == 0
        self.sim.clock.advance(hours * 3600)
        self.start()
        self.step(2)


def test_the_counter_survives_every_fault(
    sim_factory: SimFactory, broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    """Outage, 429s, revocation, broker restart, kill, stops: every minute once."""
    sim = sim_factory(leak=True)  # data 2 minutes late; the clock moves on request
    broker = broker_factory()
    sensor = next(d for d in sim.model.account.devices if d.type == 2).id
    env = bridge_env(sim, broker, tmp_path / "state", METER_OFFSET=str(OFFSET))
    with subscriber(broker, ("flume/#",)) as sub:
        run = Gauntlet(sim, broker, sub, env, tmp_path / "bridge.log", sensor)
        run.start()
        try:
            sub.wait_for(lambda _: bool(states(sub, sensor)), timeout=30)
            first = states(sub, sensor)[0]
            run.step(30)
            run.outage()
            run.storm_and_revocation()
            run.broker_restart()
            run.killed()
            run.stopped(5)
            run.stopped(30)  # more than a day: the back-fill window
            last = run.step(4)
        finally:
            assert run.stop() == 0, run.logs.read_text()
        published = [s["total"] for s in states(sub, sensor)]
    since, through = parse_utc(first["total_since"]), parse_utc(last["total_through"])
    counted = truth(sim, sensor, since, through)
    assert abs(last["total"] - OFFSET - counted) <= 1e-6, (last, counted)
    assert published == sorted(published)  # never decreased
    assert through - since > timedelta(hours=36)
    assert sim_stats(sim)["by_status"].get("429", 0) == 3
    assert "Traceback" not in run.logs.read_text()


def _diagnostics(sub: Subscriber) -> dict[str, Any]:
    found = sub.on("flume/diagnostics")
    return found[-1].json() if found else {}

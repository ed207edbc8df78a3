"""`flume-mqtt run` on a host clock in local time: across DST, and set while it runs.

The bridge's host clock is moved with libfaketime (its monotonic clock is not); the
simulator keeps the true time, as Flume does, and the bridge learns it from the
`Date` of each answer.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator
from tests.conftest import BrokerFactory
from tests.support.bridge import BridgeProcess, bridge_env, expected_state
from tests.support.clock import parse_utc
from tests.support.faketime import SteppedHostClock, shifted
from tests.support.mqtt import Subscriber, subscriber
from tests.support.simulator import SimFactory

BUDGET = 120  # FLUME_REQUESTS_PER_HOUR: one sensor is polled every minute
START_TIMEOUT = 30.0  # from the start to the first usage state, on a loaded machine
LATE = 1.5  # the longest gap between two usage states, in usage intervals
EARLY = 0.5  # the shortest: a clock step must not fire the jobs either
HOUR = 3600.0
# The instants of the change, with a zone and a name for the test id.
FALL_BACK = ("America/New_York", datetime(2026, 11, 1, 6, 0, tzinfo=UTC))  # 02:00 EDT
SPRING_FORWARD = ("Europe/Berlin", datetime(2027, 3, 28, 1, 0, tzinfo=UTC))  # 02:00 CET


@dataclass
class Home:
    """One bridge with its simulator and broker, and the usage states it published."""

    sim: Simulator
    sub: Subscriber
    bridge: BridgeProcess
    started: float = field(default_factory=time.monotonic)

    @property
    def sensor(self) -> str:
        """The account's one water sensor."""
        return self.sim.model.account.sensors[0].id

    @property
    def tz(self) -> str:
        """The sensor's location's zone (the simulator's, not the host's)."""
        account = self.sim.model.account
        return account.location_of(account.sensors[0]).tz

    def usage(self) -> list[tuple[float, dict[str, Any]]]:
        """Each usage state with its arrival: the first with a new `updated_at`."""
        found: dict[str, tuple[float, dict[str, Any]]] = {}
        for seen in self.sub.on(f"flume/{self.sensor}/state"):
            state = seen.json() if seen.payload else None
            if state and state["today"] is not None:
                found.setdefault(state["updated_at"], (seen.at, state))
        return sorted(found.values(), key=lambda pair: pair[0])

    def interval(self) -> int:
        """The usage interval the bridge planned, from its diagnostics."""
        seen = self.sub.wait_for(
            lambda _: bool(self.sub.on("flume/diagnostics")), timeout=START_TIMEOUT
        )
        document = [s for s in seen if s.topic == "flume/diagnostics"][-1].json()
        return int(document["request_plan"]["usage_interval"])

    def gaps(self) -> list[float]:
        """Seconds between usage states, and since the last one (still open)."""
        arrivals = [at for at, _ in self.usage()] or [self.started]
        ends = [*arrivals[1:], time.monotonic()]
        return [end - start for start, end in zip(arrivals, ends, strict=True)]

    def wait(self, polls: int, limit: float) -> None:
        """Until `polls` usage states arrived, or a gap grew past `limit` seconds."""
        first = time.monotonic() + START_TIMEOUT
        while len(self.usage()) < polls and self.bridge.process.poll() is None:
            if not self.usage() and time.monotonic() > first:
                return
            if self.usage() and self.gaps()[-1] > limit:
                return
            time.sleep(0.5)


Start = Callable[[str, datetime, dict[str, str]], Home]


@pytest.fixture
def homes(
    sim_factory: SimFactory, broker_factory: BrokerFactory, tmp_path: Path
) -> Iterator[Start]:
    """Start bridges (`start(name, sim_start, host_env)`); each is stopped after."""
    started: list[Home] = []
    lock = threading.Lock()  # the fast checks start their bridges from two threads
    with ExitStack() as stack:

        def start(name: str, at: datetime, host: dict[str, str]) -> Home:
            with lock:
                return begin(name, at, host)

        def begin(name: str, at: datetime, host: dict[str, str]) -> Home:
            sim = sim_factory(clock=SimClock(at, speed=1.0), latency_minutes=0)
            broker = broker_factory()
            sub = stack.enter_context(subscriber(broker, ("flume/#",)))
            state = tmp_path / name / "state"
            state.mkdir(parents=True)
            env = bridge_env(sim, broker, state, FLUME_REQUESTS_PER_HOUR=str(BUDGET))
            home = Home(sim, sub, BridgeProcess(env | host, state.parent / "log"))
            started.append(home)
            return home

        yield start
        for home in started:
            assert home.bridge.stop() == 0, home.bridge.text()


def host_at(zone: str, when: datetime) -> dict[str, str]:
    """A host in `zone` (its clock in local time) whose clock reads `when` now."""
    return shifted((when - datetime.now(UTC)).total_seconds()) | {"TZ": zone}


def check_cadence(home: Home, interval: int, polls: int) -> list[float]:
    """`polls` usage states came, none later than LATE intervals after the last."""
    gaps = home.gaps()
    usage = home.usage()
    assert len(usage) >= polls, (gaps, home.bridge.text()[-3000:])
    closed = gaps[: polls - 1]
    assert max(closed) <= LATE * interval, (closed, home.bridge.text()[-3000:])
    return closed


def check_counter(home: Home) -> None:
    """Every `total` equals /_sim/truth and none lies in Flume's future."""
    for _, state in home.usage():
        wanted = expected_state(home.sim, state, home.tz, "gallons")["total"]
        assert math.isclose(state["total"], wanted, abs_tol=0.0051), state
        assert parse_utc(state["total_through"]) <= home.sim.clock.now()


def request_log(sim: Simulator) -> list[dict[str, str]]:
    """Every Flume request the simulator answered (GET /_sim/stats?log=true)."""
    url = f"{sim.url}/_sim/stats"
    response = requests.get(url, params={"log": "true"}, timeout=10)
    response.raise_for_status()
    log: list[dict[str, str]] = response.json()["log"]
    return log


def busiest_hour(sim: Simulator) -> int:
    """The most Flume requests in any rolling hour, by the simulator's request log."""
    times = sorted(parse_utc(entry["at"]).timestamp() for entry in request_log(sim))
    return max(
        (sum(1 for t in times if start <= t < start + HOUR) for start in times),
        default=0,
    )


@pytest.mark.slow
@pytest.mark.timeout(600)  # 5 polls a minute apart, and start-up
def test_usage_keeps_its_cadence_across_dst(homes: Start) -> None:
    """Hosts in New York (fall-back) and Berlin (spring-forward) poll on cadence.

    The issue's run: started 75 s before each change, four intervals (4 minutes).
    """
    across_dst(homes, lead=75, polls=5)


def across_dst(homes: Start, lead: int, polls: int) -> None:
    """Bridges on hosts `lead` s before each change keep `polls` states on cadence."""
    runs = []
    for zone, change in (FALL_BACK, SPRING_FORWARD):
        start = change - timedelta(seconds=lead)
        home = homes(zone.replace("/", "-"), start, host_at(zone, start))
        runs.append((zone, home, change))
    intervals = [home.interval() for _, home, _ in runs]
    for (_, home, _), interval in zip(runs, intervals, strict=True):
        home.wait(polls, LATE * interval)  # side by side: the waits overlap
    for (zone, home, change), interval in zip(runs, intervals, strict=True):
        gaps = check_cadence(home, interval, polls)
        figures = [round(gap, 1) for gap in gaps]
        print(f"\nhost in {zone}: usage gaps {figures} s")  # noqa: T201  # figures
        crossed = [parse_utc(state["updated_at"]) for _, state in home.usage()]
        assert crossed[0] < change <= crossed[polls - 1], crossed
        check_counter(home)
        assert "Traceback" not in home.bridge.text()


AHEAD = 6 * 3600  # NTP sets a Pi's clock 6 h on ...
BACK = 2 * 3600  # ... and then 2 h back
PAUSE = 10.0  # seconds the host clock stays 6 h ahead when both steps fall in a poll


@pytest.mark.slow
@pytest.mark.timeout(600)  # 5 polls a minute apart, and start-up
def test_cadence_and_budget_hold_across_host_clock_steps(
    homes: Start, tmp_path: Path
) -> None:
    """Set +6 h, then -2 h while running: on cadence, within budget, total = truth.

    One step after each poll, four intervals (4 minutes).
    """
    across_steps(homes, tmp_path, polls=5, spread=True)


@pytest.mark.timeout(300)
def test_dst_and_clock_steps_move_no_cadence(homes: Start, tmp_path: Path) -> None:
    """Across each DST change, and across both clock steps, the cadence holds.

    make test's run: one interval across each change, both steps within one interval,
    side by side (about a minute in all).
    """
    failures: list[BaseException] = []

    def checked(check: Callable[[], None]) -> None:
        try:
            check()
        except BaseException as error:  # noqa: BLE001  # re-raised in the test's thread
            failures.append(error)

    checks = (
        lambda: across_dst(homes, lead=25, polls=2),
        lambda: across_steps(homes, tmp_path, polls=2, spread=False),
    )
    threads = [threading.Thread(target=checked, args=(c,)) for c in checks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def across_steps(homes: Start, tmp_path: Path, polls: int, spread: bool) -> None:
    """A bridge whose host clock is set +6 h and then -2 h keeps `polls` on cadence."""
    clock = SteppedHostClock(tmp_path / "faketime")
    host = clock.env() | {"TZ": FALL_BACK[0]}
    home = homes("steps", datetime.now(UTC), host)
    interval = home.interval()
    home.wait(1, LATE * interval)
    clock.step_to(AHEAD)
    if spread:
        home.wait(2, LATE * interval)
    else:
        time.sleep(PAUSE)
    clock.step_to(AHEAD - BACK)
    home.wait(polls, LATE * interval)
    gaps = check_cadence(home, interval, polls)
    busiest = busiest_hour(home.sim)
    figures = [round(gap, 1) for gap in gaps]
    print(f"\nclock steps: usage gaps {figures} s; busiest hour {busiest}")  # noqa: T201
    assert min(gaps) >= EARLY * interval, gaps
    assert busiest <= BUDGET
    check_counter(home)
    assert home.bridge.stop() == 0, home.bridge.text()
    # Flume's time runs on between answers: no poll is asked twice for its windows,
    # and no data looks stale for the hours the host clock moved.
    queries = [e for e in request_log(home.sim) if e["route"].endswith("/query")]
    assert len(queries) == len(home.usage()), queries
    said = [s.payload for s in home.sub.on(f"flume/{home.sensor}/availability")]
    since_online = said[said.index(b"online") :]
    assert since_online == [b"online"] * len(since_online), said
    assert "Traceback" not in home.bridge.text()

"""The soak's machinery: the service's parts on a simulated clock, faults, checks."""

from __future__ import annotations

import gc
import math
import os
import random
import sys
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from bridge import app
from bridge.config import Settings
from bridge.flume.budget import HOUR, RequestBudget
from bridge.flume.planner import plan
from bridge.service import Parts
from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator
from tests.support.broker import Broker
from tests.support.flume import DEMO, add_fault

TIMEOUT = 10


def seconds_of(clock: SimClock) -> Callable[[], float]:
    """The simulated clock as POSIX seconds: the host's clock and the budget's."""
    return lambda: clock.now().timestamp()


def week_parts(settings: Settings, clock: SimClock) -> Parts:
    """The parts as bridge.app wires them, every clock the simulated one."""
    seconds = seconds_of(clock)
    per_hour = settings.flume_requests_per_hour
    budget = RequestBudget(
        per_hour,
        now=seconds,
        rng=random.Random(7),  # noqa: S311  # the budget's jitter, repeatable
        reserve=plan(per_hour, 1).token_reserve,
    )
    # A host clock in step with Flume's, as NTP keeps it; the offset stays near 0.
    return app.parts(settings, DEMO, seconds=seconds, budget=budget)


@dataclass
class Ledger:
    """Every request the simulator logged, checked against the budget as it comes."""

    per_hour: int
    requests: int = 0
    peak: int = 0  # the most requests in any rolling hour
    peak_at: str = ""
    by_status: Counter[str] = field(default_factory=Counter)
    _hour: deque[float] = field(default_factory=deque)

    def drain(self, sim: Simulator) -> None:
        """Take the simulator's request log and empty it."""
        stats = requests.get(
            f"{sim.url}/_sim/stats", params={"log": "true"}, timeout=TIMEOUT
        ).json()
        requests.delete(f"{sim.url}/_sim/stats", timeout=TIMEOUT).raise_for_status()
        assert stats["log_dropped"] == 0, "the request log overflowed between drains"
        for entry in stats["log"]:
            self._add(entry)

    def _add(self, entry: dict[str, str]) -> None:
        at = datetime.fromisoformat(entry["at"]).timestamp()
        self.requests += 1
        self.by_status[entry["status"]] += 1
        self._hour.append(at)
        # As RequestBudget counts: a request exactly an hour old has left the hour.
        while self._hour[0] <= at - HOUR:
            self._hour.popleft()
        if len(self._hour) > self.peak:
            self.peak, self.peak_at = len(self._hour), entry["at"]


# Each kind of fault the soak injects, as POST /_sim/faults documents.
FAULTS: dict[str, Callable[[random.Random], dict[str, Any]]] = {
    "503": lambda rng: {"status": 503, "count": rng.randint(1, 4)},
    "outage (503 for a while)": lambda rng: {
        "status": 503,
        "seconds": rng.randint(600, 3 * 3600),
    },
    "429 with Retry-After": lambda rng: {
        "status": 429,
        "retry_after": rng.choice([30, 90, 600, 1800]),
    },
    "429 without Retry-After": lambda rng: {
        "status": 429,
        "count": rng.randint(1, 3),
    },
    "malformed body": lambda rng: {"body": "malformed", "count": rng.randint(1, 3)},
    "truncated body": lambda rng: {"body": "truncated", "count": rng.randint(1, 3)},
    "empty body": lambda rng: {"body": "empty", "count": rng.randint(1, 3)},
    "html body": lambda rng: {"body": "html", "count": rng.randint(1, 3)},
    "wrong_shape body": lambda rng: {"body": "wrong_shape", "count": rng.randint(1, 3)},
    "dropped connection": lambda rng: {"drop": True, "count": rng.randint(1, 3)},
    "access token revoked": lambda _rng: {"revoke_tokens": "access"},
    "all tokens revoked": lambda _rng: {"revoke_tokens": "all"},
}
# Where a fault lands: any request, or one route (a token rule waits for a grant).
ROUTES = ("*", "*", "*/query", "*/devices", "*/leaks/active", "/oauth/token")


@dataclass(frozen=True, slots=True)
class Incident:
    """Something done to the bridge's world at a simulated time."""

    at: float
    kind: str  # a FAULTS key, "broker restart" or "broker outage"
    document: dict[str, Any] = field(default_factory=dict)
    down_for: float = 0.0  # broker outage: seconds until it starts again


def draw_incidents(
    rng: random.Random, start: float, end: float, faults: int, restarts: int
) -> list[Incident]:
    """Faults at random times and kinds, and broker restarts, in time order."""
    found = []
    for _ in range(faults):
        kind = rng.choice(list(FAULTS))
        document = FAULTS[kind](rng)
        if "revoke_tokens" not in document:
            document["route"] = rng.choice(ROUTES)
        found.append(Incident(rng.uniform(start, end), kind, document))
    for number in range(restarts):
        outage = number % 2 == 1  # every other one stays down a while
        found.append(
            Incident(
                rng.uniform(start, end),
                "broker outage" if outage else "broker restart",
                down_for=rng.uniform(600, 4 * 3600) if outage else 0.0,
            )
        )
    return sorted(found, key=lambda incident: incident.at)


class World:
    """Applies incidents to the simulator and the broker when their time comes."""

    def __init__(self, sim: Simulator, broker: Broker, incidents: list[Incident]):
        self._sim = sim
        self._broker = broker
        self._pending = deque(incidents)
        self._broker_back: float | None = None
        self.done: Counter[str] = Counter()

    def due(self) -> float:
        """The time of the next incident or broker return (inf if none)."""
        times = [self._pending[0].at] if self._pending else []
        if self._broker_back is not None:
            times.append(self._broker_back)
        return min(times, default=math.inf)

    def act(self, now: float) -> None:
        """Do everything due by `now`."""
        if self._broker_back is not None and self._broker_back <= now:
            self._broker.start()
            self._broker_back = None
        while self._pending and self._pending[0].at <= now:
            self._apply(self._pending.popleft(), now)

    def _apply(self, incident: Incident, now: float) -> None:
        self.done[incident.kind] += 1
        if incident.kind == "broker restart":
            if self._broker_back is None:
                self._broker.restart()
        elif incident.kind == "broker outage":
            if self._broker_back is None:
                self._broker.stop()
                self._broker_back = now + incident.down_for
        else:
            add_fault(self._sim, **incident.document)

    def calm(self) -> None:
        """End every fault and bring the broker back."""
        requests.delete(f"{self._sim.url}/_sim/faults", timeout=TIMEOUT)
        if self._broker_back is not None:
            self._broker.start()
            self._broker_back = None
        self._pending.clear()


@dataclass(frozen=True, slots=True)
class Resources:
    """The process's memory, threads and open file descriptors."""

    rss: int  # resident bytes: a high-water mark, malloc seldom gives pages back
    blocks: int  # live blocks of Python's small-object allocator, after a collection
    threads: tuple[str, ...]
    fds: tuple[str, ...]  # what each descriptor is open on, sorted

    @classmethod
    def now(cls) -> Resources:
        """Measure them (Linux /proc)."""
        gc.collect()
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return cls(
            rss=pages * os.sysconf("SC_PAGE_SIZE"),
            blocks=sys.getallocatedblocks(),
            threads=tuple(sorted(t.name for t in threading.enumerate())),
            fds=tuple(sorted(_target(fd) for fd in Path("/proc/self/fd").iterdir())),
        )


def _target(fd: Path) -> str:
    try:
        return str(fd.readlink())
    except FileNotFoundError:  # the descriptor that listed the directory
        return "(closed)"

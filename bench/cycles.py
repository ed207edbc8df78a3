"""One poll cycle, many times, in a process of its own: ours, or pyflume's with paho.

Run by bench/__main__.py as `python -m bench.cycles KIND ...`; prints one JSON line.
The simulator runs in another process with a frozen clock that this one advances a
minute before each cycle, so the process CPU time measured here is the poller's alone.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from array import array
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from bench.common import cpu_seconds, median, peak_rss_mib, rss_mib
from bench.pollers import POLLERS

MINUTE = 60.0
# Cycles before memory is first read: caches, pools and the allocator's arenas grow
# over about the first thousand (measured: 44.4 MiB at the first, 44.9 from ~1,000 on).
WARM_UP = 1_000
SAMPLE_EVERY = 1_000  # cycles between two RSS samples: a step shows apart from a slope


class SimTime:
    """The simulator's clock as epoch seconds; only this process moves it."""

    def __init__(self, session: requests.Session, url: str) -> None:
        self._session = session
        self._url = f"{url}/_sim/clock"
        answer = session.get(self._url, timeout=10)
        answer.raise_for_status()
        now = answer.json()["now"].replace("Z", "+00:00")
        self._now = datetime.fromisoformat(now).timestamp()

    def now(self) -> float:
        """The simulated now (the simulator's clock is frozen between advances)."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock and ours by `seconds`."""
        answer = self._session.post(self._url, json={"advance": seconds}, timeout=10)
        answer.raise_for_status()
        self._now += seconds


def run_cycles(
    cycle: Callable[[], None], sim_time: SimTime, sim_pid: int, count: int
) -> dict[str, Any]:
    """Advance a minute and run one cycle, `count` times; CPU per cycle, both sides.

    The RSS is read before the first cycle and after the last.
    """
    # Allocated up front: lists of floats would grow the RSS being measured.
    ours = array("d", bytes(8 * count))
    samples = array("d", bytes(8 * ((count - 1) // SAMPLE_EVERY)))
    rss_before = rss_mib()
    simulator = 0.0
    for index in range(count):
        if index and index % SAMPLE_EVERY == 0:
            samples[index // SAMPLE_EVERY - 1] = rss_mib()
        sim_time.advance(MINUTE)
        sim_before = cpu_seconds(sim_pid)
        started = time.process_time()
        cycle()
        ours[index] = time.process_time() - started
        simulator += cpu_seconds(sim_pid) - sim_before
    return {
        "cpu_ms": median(ours) * 1000,
        "cpu_mean_ms": sum(ours) / count * 1000,
        # /proc counts clock ticks (10 ms): only a mean over many cycles says much.
        "sim_cpu_mean_ms": simulator / count * 1000,
        "rss_before_mib": rss_before,
        "rss_after_mib": rss_mib(),
        "rss_samples_mib": list(samples),
    }


def flume_requests(session: requests.Session, url: str) -> int:
    """Flume requests the simulator has answered so far (control routes excluded)."""
    answer = session.get(f"{url}/_sim/stats", timeout=10)
    answer.raise_for_status()
    total: int = answer.json()["total"]
    return total


def measure(args: argparse.Namespace, state_dir: Path) -> dict[str, Any]:
    """Warm up, then the measured cycles; memory at each step, requests counted."""
    with requests.Session() as control:
        sim_time = SimTime(control, args.sim)
        poller = POLLERS[args.kind](args.sim, args.mqtt_port, state_dir, sim_time.now)
        try:
            rss_start = rss_mib()
            run_cycles(poller.cycle, sim_time, args.sim_pid, WARM_UP)
            if args.tracemalloc:
                tracemalloc.start(10)
            before_requests = flume_requests(control, args.sim)
            result = run_cycles(poller.cycle, sim_time, args.sim_pid, args.cycles)
            result["rss_start_mib"] = rss_start
            result["peak_rss_mib"] = peak_rss_mib()
            spent = flume_requests(control, args.sim) - before_requests
            result["requests_per_cycle"] = spent / args.cycles
            if args.tracemalloc:
                result["tracemalloc_top"] = _top(10)
        finally:
            poller.close()
    return result


def _top(count: int) -> list[str]:
    snapshot = tracemalloc.take_snapshot()
    return [str(stat) for stat in snapshot.statistics("lineno")[:count]]


def parse_args() -> argparse.Namespace:
    """The worker's options (bench/__main__.py passes all of them)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=sorted(POLLERS))
    parser.add_argument("--sim", required=True, help="the simulator's base URL")
    parser.add_argument("--sim-pid", type=int, required=True)
    parser.add_argument("--mqtt-port", type=int, required=True)
    parser.add_argument("--cycles", type=int, default=500)
    parser.add_argument("--tracemalloc", action="store_true")
    return parser.parse_args()


def main() -> None:
    """Measure and print the result as one JSON line."""
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="flume-bench-") as temp:
        print(json.dumps(measure(args, Path(temp))), flush=True)


if __name__ == "__main__":
    main()

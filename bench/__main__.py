"""`make bench`: run every benchmark against the simulator and a private mosquitto.

Prints one table: the service's memory and start-up time, the CPU and memory of a poll
cycle, requests an hour per sensor count, and the same work done with pyflume.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import hour, service
from bench.common import PYTHON, ROOT, simulator_process
from bench.cycles import SAMPLE_EVERY, WARM_UP
from bench.report import Row, header, print_table
from tests.support.broker import Broker, find_mosquitto, free_port

STARTS = 5  # runs of `run` from an empty state directory
CYCLES = {"full": 10_000, "quick": 2_000}
PYFLUME_CYCLES = 500
STEADY_SECONDS = {"full": 300.0, "quick": 30.0}
RSS_GROWTH_LIMIT = 2.0  # MiB over the cycles
RSS_TARGET = 50.0  # MiB, steady
FLUME_LIMIT = 120  # requests an hour per user, Flume's
# Home Assistant's flume integration (homeassistant/components/flume/const.py):
# FlumeData.update_force every minute per sensor, the notification list every 5 min
# and the device list every 60 min, one request each.
HA_EXTRA_PER_HOUR = 60 // 5 + 1
HA_POLLS_PER_HOUR = 60
EXPLAINED = (
    "pyflume+paho: FlumeData.update_force() (what HA's coordinator calls) and one "
    "retained QoS 1 publish of its values;",
    "its requests/hour: the measured requests per update x HA's 1-min scan per sensor, "
    "+ 12 notification lists + 1 device list (HA's 5 and 60 min intervals).",
    "requests/hour (ours): /_sim/stats over the first simulated hour of the real "
    "Service from its start, every job due at second 0 (the busiest hour).",
)


@dataclass(frozen=True)
class Cycles:
    """A cycles worker's JSON line (bench/cycles.py)."""

    count: int
    result: dict[str, Any]

    @property
    def growth(self) -> float:
        """RSS growth in MiB over the measured cycles."""
        return float(self.result["rss_after_mib"] - self.result["rss_before_mib"])


@contextmanager
def private_broker(directory: Path) -> Iterator[int]:
    """A mosquitto of our own on a free loopback port; its port."""
    broker = Broker(directory / "mosquitto", free_port())
    broker.start()
    try:
        yield broker.port
    finally:
        broker.stop()


def cycles(kind: str, count: int, port: int, *, trace: bool = False) -> Cycles:
    """Run the cycles worker in a fresh process against a fresh simulator process."""
    with simulator_process() as sim:
        command = [PYTHON, "-m", "bench.cycles", kind, "--sim", sim.url]
        command += ["--sim-pid", str(sim.pid), "--mqtt-port", str(port)]
        command += ["--cycles", str(count)] + (["--tracemalloc"] if trace else [])
        output = _run(command)
    return Cycles(count, json.loads(output))


def _run(command: list[str]) -> str:
    return subprocess.run(
        command, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def service_rows(port: int, temp: Path, mode: str) -> list[Row]:
    """The `run` process: start-up time (median of STARTS), steady RSS, import floor."""
    with simulator_process(speed=1.0) as sim:
        times = [
            service.first_state(sim.url, port, temp / f"start{n}", f"start{n}")
            for n in range(STARTS)
        ]
    with simulator_process(speed=1.0) as sim:
        seconds = STEADY_SECONDS[mode]
        steady = service.steady_rss(sim.url, port, temp / "steady", seconds)
    firsts, usages = zip(*times, strict=True)
    return [
        Row.timed("start to first state", firsts, STARTS),
        Row.timed("start to first state with usage", usages, STARTS),
        _steady_row(steady, mode),
        Row(
            "import floor: the 4 deps only",
            f"{service.import_floor():.1f} MiB",
            note="python importing paho.mqtt.client, requests, pydantic_settings, "
            "schedule",
        ),
    ]


def _steady_row(steady: service.Steady, mode: str) -> Row:
    quick = " (--quick)" if mode == "quick" else ""
    return Row(
        f"RSS of `run` after {steady.seconds / 60:g} min{quick}",
        f"{steady.rss_mib:.1f} MiB",
        f"<= {RSS_TARGET:g} MiB",
        steady.rss_mib <= RSS_TARGET,
        f"largest sample {steady.peak_rss_mib:.1f} MiB; "
        f"CPU {steady.cpu_percent:.2f} % of one core; 1 sensor, real time",
    )


def cycle_rows(ours: Cycles, theirs: Cycles) -> list[Row]:
    """CPU and memory per poll cycle, ours and pyflume's, and the ratios."""
    mine, other = ours.result, theirs.result
    counts = f"{ours.count:,} vs {theirs.count:,} cycles"
    return [
        Row.ratio_of(
            "CPU per poll cycle, median",
            mine["cpu_ms"],
            other["cpu_ms"],
            "ms",
            f"the poller's process alone (simulator elsewhere); {counts}",
        ),
        Row.ratio_of(
            "simulator CPU per poll, mean",
            mine["sim_cpu_mean_ms"],
            other["sim_cpu_mean_ms"],
            "ms",
            "the simulator's process answering (/proc, 10 ms ticks)",
        ),
        Row.ratio_of(
            "RSS of the polling process",
            mine["rss_after_mib"],
            other["rss_after_mib"],
            "MiB",
            "after the cycles (a script: no scheduler, no service loop)",
        ),
        Row.ratio_of(
            "Flume requests per poll",
            mine["requests_per_cycle"],
            other["requests_per_cycle"],
            "",
            "counted by /_sim/stats",
        ),
        Row(
            f"RSS growth over {ours.count:,} cycles",
            f"{ours.growth:+.2f} MiB",
            f"<= {RSS_GROWTH_LIMIT:g} MiB",
            ours.growth <= RSS_GROWTH_LIMIT,
            f"{mine['rss_before_mib']:.2f} -> {mine['rss_after_mib']:.2f} MiB after "
            f"{WARM_UP:,} warm-up cycles ({mine['rss_start_mib']:.2f} MiB before "
            "them); a simulated minute per cycle",
        ),
    ]


def _samples(ours: Cycles) -> str:
    shown = " ".join(f"{rss:.2f}" for rss in ours.result["rss_samples_mib"])
    return f"RSS (MiB) of the bridge's poller every {SAMPLE_EVERY:,} cycles: {shown}"


def hour_rows(results: list[hour.HourResult], per_update: float) -> list[Row]:
    """Requests in the busiest simulated hour per sensor count, and HA's cadence."""
    return [_hour_row(result, per_update) for result in results]


def _hour_row(result: hour.HourResult, per_update: float) -> Row:
    chosen = result.plan
    theirs = per_update * HA_POLLS_PER_HOUR * result.sensors + HA_EXTRA_PER_HOUR
    over = " (over Flume's 120: 429s)" if theirs > FLUME_LIMIT else ""
    return Row(
        f"requests/hour, {result.sensors} sensor{'s' * (result.sensors > 1)}",
        f"{result.requests} (plan {chosen.peak_per_hour})",
        f"<= {chosen.per_hour}",
        result.requests <= chosen.per_hour and not result.rate_limited,
        f"state every {chosen.usage_interval} s; {result.rate_limited} 429s; "
        f"{result.failures} failed jobs; HA: state every 60 s{over}",
        theirs=f"{theirs:.0f}",
        ratio=f"{result.requests / theirs:.2f}x",
    )


def tracemalloc_notes(port: int, count: int) -> list[str]:
    """The top 10 allocation sites over the cycles, from a second, traced run."""
    traced = cycles("bridge", count, port, trace=True)
    return [
        "tracemalloc top 10 (a second run, traced):",
        *traced.result["tracemalloc_top"],
    ]


def parse_args() -> argparse.Namespace:
    """`--quick`: a 30 s steady run and fewer cycles, said so in the table."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="30 s instead of 5 min")
    return parser.parse_args()


def main() -> int:
    """Run everything, print the table."""
    if find_mosquitto() is None:
        print(
            "bench: mosquitto is not installed (make bench installs it)",
            file=sys.stderr,
        )
        return 1
    mode = "quick" if parse_args().quick else "full"
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="flume-bench-") as name:
        temp = Path(name)
        with private_broker(temp) as port:
            rows = service_rows(port, temp, mode)
            ours = cycles("bridge", CYCLES[mode], port)
            theirs = cycles("pyflume", PYFLUME_CYCLES, port)
            if ours.growth > RSS_GROWTH_LIMIT:
                notes = tracemalloc_notes(port, CYCLES[mode])
            hours = hour.every_count(port)
    rows += cycle_rows(ours, theirs)
    rows += hour_rows(hours, theirs.result["requests_per_cycle"])
    print_table(header(mode), rows, [*EXPLAINED, _samples(ours), *notes])
    return 0


if __name__ == "__main__":
    sys.exit(main())

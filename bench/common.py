"""What the benchmarks share: a process's memory and CPU, the simulator process."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bridge.simulator.account import SimConfig

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
FLUME_MQTT = str(Path(PYTHON).with_name("flume-mqtt"))
DEMO = SimConfig()  # the simulator's demo account: what every benchmark logs in as
TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 15.0


def rss_mib(pid: int | str = "self") -> float:
    """Resident set size of a process in MiB (VmRSS from /proc)."""
    return _status_kib(pid, "VmRSS") / 1024


def peak_rss_mib(pid: int | str = "self") -> float:
    """The largest resident set size a process has had, in MiB (VmHWM)."""
    return _status_kib(pid, "VmHWM") / 1024


def _status_kib(pid: int | str, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(f"no {field} in /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of another process (clock-tick resolution)."""
    # The command name may hold spaces; the fields after its ")" are fixed.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def median(values: Sequence[float]) -> float:
    """The median (no statistics import at every call site)."""
    return statistics.median(values)


def flume_env(api_url: str) -> dict[str, str]:
    """The FLUME_ variables that log in to the simulator's demo account."""
    return {
        "FLUME_API_URL": api_url,
        "FLUME_CLIENT_ID": DEMO.client_id,
        "FLUME_CLIENT_SECRET": DEMO.client_secret,
        "FLUME_USERNAME": DEMO.username,
        "FLUME_PASSWORD": DEMO.password,
    }


@dataclass
class SimProcess:
    """`flume-mqtt simulate` as a child process: its URL and pid."""

    url: str
    process: subprocess.Popen[str]

    @property
    def pid(self) -> int:
        """The simulator's process id, for its CPU time and memory."""
        return self.process.pid


@contextmanager
def simulator_process(
    start: datetime | None = None,
    speed: float = 0.0,
    sensors: int = 1,
    binary: str = FLUME_MQTT,
) -> Iterator[SimProcess]:
    """A simulator in a process of its own (its CPU and memory are not ours).

    `binary`: the `flume-mqtt` to start, another checkout's for bench/rss_versus.py.
    """
    when = (start or datetime.now(UTC)).replace(microsecond=0).isoformat()
    command = [binary, "simulate", "--port", "0", "--start", when]
    command += ["--speed", str(speed), "--sensors", str(sensors)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        url = _ready_line(process)
        yield SimProcess(url, process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _ready_line(process: subprocess.Popen[str]) -> str:
    # The ready line: "simulator listening on http://127.0.0.1:P".
    line = process.stdout.readline() if process.stdout else ""
    if not line.startswith("simulator listening on "):
        raise RuntimeError(f"the simulator did not start: {line!r}")
    return line.split()[-1]

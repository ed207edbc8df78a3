"""The benchmark table: its rows, the machine it ran on, and how it is printed."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import bridge
from bench.common import median
from tests.support.broker import find_mosquitto

COLUMNS = ("measure", "flume-mqtt", "target", "met", "pyflume+paho", "ratio", "note")
START_TARGET = 1.0  # seconds


@dataclass(frozen=True)
class Row:
    """One line of the table; `met` is None where there is no target."""

    measure: str
    ours: str
    target: str = ""
    met: bool | None = None
    note: str = ""
    theirs: str = ""
    ratio: str = ""

    @classmethod
    def timed(cls, measure: str, seconds: Sequence[float], runs: int) -> Row:
        """A start-up time: the median of the runs against the 1 s target."""
        middle = median(seconds)
        return cls(
            measure,
            f"{middle:.2f} s",
            f"<= {START_TARGET:g} s",
            middle <= START_TARGET,
            f"median of {runs}, {min(seconds):.2f}-{max(seconds):.2f} s; "
            "empty STATE_DIR (password grant)",
        )

    @classmethod
    def ratio_of(
        cls, measure: str, ours: float, theirs: float, unit: str, note: str
    ) -> Row:
        """A figure measured for both pollers, with ours / theirs."""
        shown = f" {unit}" if unit else ""
        return cls(
            measure,
            f"{ours:.2f}{shown}",
            note=note,
            theirs=f"{theirs:.2f}{shown}",
            ratio=f"{ours / theirs:.2f}x" if theirs else "",
        )

    def cells(self) -> tuple[str, ...]:
        """The row as printed, in COLUMNS' order."""
        met = "" if self.met is None else ("yes" if self.met else "NO")
        return (self.measure, self.ours, self.target, met, self.theirs, self.ratio,
                self.note)  # fmt: skip


def header(mode: str) -> list[str]:
    """What was measured on what: date, versions, CPUs, mode."""
    quick = "--quick (30 s steady run, 2,000 cycles)" if mode == "quick" else "full"
    return [
        f"flume-mqtt {bridge.__version__} benchmarks, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, mode: {quick}",
        f"{platform.system()} {platform.release()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs ({_cpu_model()}), Python {platform.python_version()}, "
        f"{_mosquitto_version()}",
        "Simulator and mosquitto on 127.0.0.1, each in a process of its own; "
        "MiB = 2^20 bytes; medians unless said.",
    ]


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _mosquitto_version() -> str:
    binary = find_mosquitto()
    if binary is None:
        return "no mosquitto"
    # `mosquitto -h` prints its version first and exits 3.
    result = subprocess.run([binary, "-h"], capture_output=True, text=True, check=False)
    return result.stdout.splitlines()[0] if result.stdout else "mosquitto"


def print_table(lines: list[str], rows: Sequence[Row], notes: Sequence[str]) -> None:
    """The header lines, the table with aligned columns, then any notes."""
    table = [COLUMNS, *(row.cells() for row in rows)]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(COLUMNS))]
    for line in lines:
        print(line)
    for number, cells in enumerate(table):
        print(
            " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        )
        if number == 0:
            print("-+-".join("-" * w for w in widths))
    for note in notes:
        print(note)

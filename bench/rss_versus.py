"""Steady RSS of `flume-mqtt run` from checkouts side by side, as `make bench` takes it.

    .venv/bin/python -m bench.rss_versus OLD_TREE NEW_TREE [...] [--seconds 300]

Each tree needs a `.venv` of its own with the project installed (`pip install -e .`).
Every round starts all the `run`s at once, each against a simulator started from its
own tree (1 sensor, the demo account, real time) and a private mosquitto, in the same
environment (bench/service.py's bridge_env); VmRSS is read `--seconds` (300: `make
bench`) after the first state with usage. Differences are to OLD_TREE.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import service
from bench.__main__ import private_broker
from bench.common import median, simulator_process


def flume_mqtt(tree: Path) -> str:
    """The tree's own `flume-mqtt` script; its shebang names the tree's venv python."""
    binary = tree / ".venv" / "bin" / "flume-mqtt"
    if not binary.is_file():
        raise SystemExit(
            f"no {binary}: python3 -m venv .venv && pip install -e . there"
        )
    return str(binary)


def commit(tree: Path) -> str:
    """The tree's commit, with a mark when it has uncommitted changes."""
    head = _git(tree, "rev-parse", "--short", "HEAD")
    return head + ("+dirty" if _git(tree, "status", "--porcelain", "bridge") else "")


def _git(tree: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(tree), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def one(tree: Path, seconds: float, temp: Path) -> service.Steady:
    """One steady run of the tree's `run` against its own simulator and broker."""
    binary = flume_mqtt(tree)
    with (
        private_broker(temp) as port,
        simulator_process(speed=1.0, binary=binary) as sim,
    ):
        return service.steady_rss(sim.url, port, temp / "steady", seconds, binary)


def round_of(trees: list[Path], seconds: float, temp: Path) -> list[service.Steady]:
    """Every tree's steady run at the same time."""
    with ThreadPoolExecutor(len(trees)) as pool:
        futures = [
            pool.submit(one, tree, seconds, temp / f"tree{n}")
            for n, tree in enumerate(trees)
        ]
        return [future.result() for future in futures]


def main() -> None:
    """Run the rounds and print each, then the medians; differences are to the first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", type=Path, nargs="+", help="OLD_TREE NEW_TREE ...")
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if len(args.trees) < 2:
        parser.error("two trees or more: the first is the one compared with")
    trees = [tree.resolve() for tree in args.trees]
    print(f"python {platform.python_version()}; VmRSS {args.seconds:g} s after the")
    print("first state with usage; 1 sensor, demo account, real time; MiB")
    _row("round", [f"{tree.name}@{commit(tree)}" for tree in trees])
    rss: list[list[float]] = [[] for _ in trees]
    for n in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="rss-versus-") as temp:
            results = round_of(trees, args.seconds, Path(temp))
        for values, result in zip(rss, results, strict=True):
            values.append(result.rss_mib)
        _row(str(n + 1), _cells([result.rss_mib for result in results]))
    _row("median", _cells([median(values) for values in rss]))


def _cells(values: list[float]) -> list[str]:
    first = values[0]
    return [f"{first:.2f}"] + [
        f"{value:.2f} ({value - first:+.2f})" for value in values[1:]
    ]


def _row(label: str, cells: list[str]) -> None:
    print(f"{label:<8}" + "".join(f"{cell:>26}" for cell in cells), flush=True)


if __name__ == "__main__":
    main()

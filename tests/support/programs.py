"""Programs the tests run: Debian ones (skip or fail when missing), writers to kill."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def require(found: str | None, program: str) -> str:
    """Return `found`; without it skip the test, or fail it under CI (`CI` set)."""
    if not found:
        message = f"{program} is not installed (make test installs it when it can)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def require_program(program: str) -> str:
    """The path of `program` on PATH, or skip/fail as `require` does."""
    return require(shutil.which(program), program)


def kill_midway(source: str, state_dir: Path, after: float, first: str) -> int:
    """Run a writer script (`python -c source state_dir`), SIGKILL it after `after` s.

    The writer prints a number after each save; the first, `first`, proves a save is
    on disk before the clock starts. Returns the last number printed.
    """
    writer = subprocess.Popen(
        [sys.executable, "-c", source, str(state_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert writer.stdout is not None
    line = writer.stdout.readline()
    assert line.strip() == first
    time.sleep(after)
    writer.send_signal(signal.SIGKILL)
    out, _ = writer.communicate(timeout=10)
    assert writer.returncode == -signal.SIGKILL
    return int(([line, *out.split()])[-1])

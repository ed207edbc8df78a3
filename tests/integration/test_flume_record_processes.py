"""Processes that share one STATE_DIR at once: one request record, one budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bridge.flume.record import RECORD_FILE

ROOT = Path(__file__).resolve().parents[2]
PER_HOUR = 30
WORKERS = 6
WAIT = 30.0  # for a loaded machine; never an assertion on speed

# Waits for the start signal, tries 40 requests as fast as it can, stops cleanly.
WORKER = f"""
import pathlib, sys, time
from bridge.errors import FlumeRateLimitError
from bridge.flume.budget import RequestBudget
from bridge.flume.record import RequestRecord

state = pathlib.Path(sys.argv[1])
budget = RequestBudget({PER_HOUR}, record=RequestRecord(state))
print("ready", flush=True)
while not (state.parent / "go").exists():
    time.sleep(0.005)
granted = 0
for _ in range(40):
    try:
        budget.acquire()
    except FlumeRateLimitError:
        continue
    granted += 1
budget.release()
print(granted, flush=True)
"""


def test_concurrent_processes_neither_overspend_nor_lose_a_request(
    tmp_path: Path,
) -> None:
    """Six processes racing for one hour's 30 requests get 30 at most, all on record."""
    state = tmp_path / "state"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(state)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(WORKERS)
    ]
    for worker in workers:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
    (tmp_path / "go").touch()
    granted = [int(worker.communicate(timeout=WAIT)[0]) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    assert 0 < sum(granted) <= PER_HOUR, granted
    requests = json.loads((state / RECORD_FILE).read_text())["requests"]
    # Each process's requests are on record once; the slots it did not use are not.
    assert sorted(len(stamps) for stamps in requests.values() if stamps) == sorted(
        count for count in granted if count
    )
    assert time.monotonic() > max(max(stamps) for stamps in requests.values())

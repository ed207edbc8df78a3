"""The meter file survives SIGKILL of its writer: whole, loadable, true to the water."""

from __future__ import annotations

import json
import logging
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.meter import METER_FILE, PREVIOUS, Meter
from tests.support.programs import kill_midway

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
PADDING = 300  # other devices, so that one save takes several system calls
# Each cycle re-reads the last 15 minutes and 3 new ones, newest first, counts and
# persists, then prints how many minutes are counted. A minute k holds
# (k % 13) / 8 + 0.25 gallons: eighths, so every sum is exact.
WRITER = """
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from bridge.meter import Meter

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
meter = Meter(Path(sys.argv[1]))
meter.begin("d", T0)
n = 0
while True:
    ks = range(max(0, n - 15), n + 3)
    spans = [(T0 + k * MINUTE, 1, (k % 13) / 8 + 0.25) for k in reversed(ks)]
    n = (meter.count("d", spans, T0 + (n + 3) * MINUTE).through - T0) // MINUTE
    print(n, flush=True)
"""


def truth(minutes: int) -> float:
    """The gallons of the first `minutes` minutes, as the writer counts them."""
    return sum((k % 13) / 8 + 0.25 for k in range(minutes))


def padded(state_dir: Path) -> None:
    """A meter file with PADDING other devices, as a long-running bridge has."""
    stamp = T0.isoformat()
    devices = {
        f"padding-{k:03}": {"since": stamp, "through": stamp, "gallons": k / 4}
        for k in range(PADDING)
    }
    state_dir.mkdir()
    document = {"format": 1, "devices": devices}
    (state_dir / METER_FILE).write_text(json.dumps(document, indent=2))


def test_sigkill_at_random_moments_leaves_a_whole_true_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Wherever the writer dies, the file loads and its total is the truth.

    The file holds the count the writer printed last, or the one it was about to
    print (the kill landed between the rename and the print), never anything torn.
    """
    # Seeded: the moments differ from each other, not from run to run.
    moments = random.Random(5).sample(range(400), 6)  # noqa: S311 (not a secret)
    for attempt, after in enumerate([0, *moments]):
        state_dir = tmp_path / str(attempt)
        padded(state_dir)
        last = kill_midway(WRITER, state_dir, after / 1000, "3")
        with caplog.at_level(logging.WARNING):
            meter = Meter(state_dir)
        assert caplog.records == []
        reading = meter.reading("d")
        assert reading is not None
        n = (reading.through - T0) // MINUTE
        assert n in (last, last + 3), (attempt, after)
        assert reading.since == T0
        assert reading.gallons == truth(n)
        assert meter.reading(f"padding-{PADDING - 1:03}") is not None
        # No temp file is left; a kill between the rotation and the rename leaves
        # only the previous generation, which is then the newest count.
        assert {p.name for p in state_dir.iterdir()} <= {METER_FILE, PREVIOUS}

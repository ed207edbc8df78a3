"""`flume-mqtt run` against the other readings of Flume's answers (issue 13).

A server that ignores `group_multiplier` (one bucket a minute), one that answers
newest first, and one window damaged for a single request_id: every field still
equals /_sim/truth, with the checks of tests/e2e/test_run_fields.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bridge.simulator.behaviour import Behaviour
from tests.e2e.test_run_fields import check_every_field
from tests.support.broker import Broker
from tests.support.flume import add_fault
from tests.support.mqtt import Subscriber
from tests.support.simulator import SimFactory

READINGS = {
    "ungrouped": Behaviour(reading="ungrouped"),
    "desc": Behaviour(sort="desc"),
    "ungrouped desc": Behaviour(reading="ungrouped", sort="desc"),
}
LESSONS = {
    "ungrouped": ["Flume ignores group_multiplier"],
    "desc": ["Flume ignores sort_direction"],
    "ungrouped desc": [
        "Flume ignores group_multiplier",
        "Flume ignores sort_direction",
    ],
}


@pytest.mark.parametrize("reading", list(READINGS))
def test_every_field_equals_the_truth_in_another_reading(
    reading: str,
    sim_factory: SimFactory,
    broker: Broker,
    watch: Subscriber,
    tmp_path: Path,
) -> None:
    """Buckets placed by their labels: every field is the truth; each lesson once."""
    sim = sim_factory(latency_minutes=0, leak=True, behaviour=READINGS[reading])
    check_every_field(sim, "gallons", broker, watch, tmp_path)
    log = (tmp_path / "bridge.log").read_text(encoding="utf-8")
    for lesson in LESSONS[reading]:
        assert len(re.findall(f" INFO .*{lesson}", log)) == 1, log
    assert "WARNING" not in log, log
    assert "Traceback" not in log


@pytest.mark.parametrize(
    ("field", "body"), [("this_week", "malformed"), ("last_24_hours", "wrong_shape")]
)
def test_a_window_that_cannot_be_read_costs_only_its_field(
    field: str,
    body: str,
    sim_factory: SimFactory,
    broker: Broker,
    watch: Subscriber,
    tmp_path: Path,
) -> None:
    """One request_id damaged in every answer: that field null, one WARNING."""
    sim = sim_factory(latency_minutes=0, leak=True)
    add_fault(sim, route="*/query", request_id=field, body=body, count=1000)
    check_every_field(sim, "gallons", broker, watch, tmp_path, null=(field,))
    log = (tmp_path / "bridge.log").read_text(encoding="utf-8")
    unreadable = [line for line in log.splitlines() if f"{field} of " in line]
    assert len(unreadable) >= 2, log  # the first poll and the refresh
    assert " WARNING " in unreadable[0], unreadable
    assert all(" DEBUG " in line for line in unreadable[1:]), unreadable
    assert log.count(" WARNING ") == 1, log
    assert "Traceback" not in log

"""A publishing process and the broker: SIGKILL leaves `offline`, SIGTERM exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import Broker
from tests.support.mqtt import subscriber

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["3.1.1", "5"])
def process(
    request: pytest.FixtureRequest, broker: Broker
) -> Iterator[subprocess.Popen[str]]:
    """The publisher process, once connected; killed if the test left it running."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.support.publisher_process",
         broker.host, str(broker.port), request.param],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert child.stdout is not None
    assert child.stdout.readline() == "ready\n", child.communicate(timeout=10)
    yield child
    if child.poll() is None:
        child.kill()
    child.communicate(timeout=10)


def test_sigkill_leaves_offline_through_the_last_will(
    broker: Broker, process: subprocess.Popen[str]
) -> None:
    """Killed with SIGKILL, the publisher's Last Will turns its status `offline`."""
    with subscriber(broker, ("flume/#",)) as sub:
        sub.wait_topic("flume/status", b"online")
        assert sub.wait_topic("flume/9/state").json() == {"today": 1.0}
        process.send_signal(signal.SIGKILL)
        offline = sub.wait_topic("flume/status", b"offline")
    assert not offline.retained  # live: the broker published the will just now
    with subscriber(broker, ("flume/status",)) as late:
        assert late.wait_topic("flume/status").payload == b"offline"  # and kept it


def test_sigterm_publishes_offline_and_exits_0(
    broker: Broker, process: subprocess.Popen[str]
) -> None:
    """A clean stop publishes `offline` retained, disconnects and exits 0."""
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    with subscriber(broker) as late:
        late.wait_for(lambda seen: len(seen) == 3)
        assert late.wait_topic("flume/status").payload == b"offline"
        assert late.on("homeassistant/device/9/config")[0].json() == {"name": "e2e"}


def test_commands_reach_the_main_loop(
    broker: Broker, process: subprocess.Popen[str]
) -> None:
    """A Refresh press published by another client comes out of the main loop."""
    assert process.stdout is not None
    with subscriber(broker) as sub:
        sub.send("flume/command/refresh", b"PRESS")
        assert process.stdout.readline() == "refresh\n"

"""`python -m bridge.commands.demo` as a subprocess, with the real `run --demo`."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import Broker, free_port

ROOT = Path(__file__).resolve().parents[2]
FIRST_STATE = 10.0  # seconds from start to the first sensor state (issue 5)
STATE_LINE = re.compile(r"^\d\d:\d\d:\d\d  state +\S+ \d+: flow .*, leak (yes|no|-)$")


class Demo:
    """The demo process, its stdout lines with the time each arrived."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.started = time.monotonic()
        self.lines: list[tuple[float, str]] = []
        self._changed = threading.Condition()
        # A file, not a pipe: only the reader thread may read stdout, and stderr
        # must never fill up and block the demo.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  # closed by finish()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bridge.commands.demo", *args],
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._reader = threading.Thread(target=self._read)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._changed.notify_all()

    def wait_line(self, pattern: re.Pattern[str], timeout: float) -> float:
        """Seconds from start to the first line matching `pattern`."""
        deadline = self.started + timeout
        with self._changed:
            while True:
                for at, line in self.lines:
                    if pattern.search(line):
                        return at - self.started
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no {pattern.pattern!r} in {self.text()}"
                self._changed.wait(remaining)

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        """Wait for the exit and the last line; return the status and stderr."""
        status = self.process.wait(timeout)
        self._reader.join(timeout)
        assert self.process.stdout is not None
        self.process.stdout.close()
        self._stderr.seek(0)
        err = self._stderr.read().decode(errors="replace")
        self._stderr.close()
        return status, err

    def text(self) -> str:
        """Everything printed so far."""
        return "\n".join(line for _at, line in self.lines)

    def private_port(self) -> int:
        """The private broker's port, from the first line."""
        first = self.lines[0][1]
        return int(first.split("a private mosquitto on 127.0.0.1:")[1].split(";")[0])


@pytest.fixture
def demos() -> Iterator[list[Demo]]:
    """Started demos; any still running at the end is killed."""
    started: list[Demo] = []
    yield started
    for demo in started:
        if demo.process.poll() is None:
            demo.process.kill()
            demo.finish()


def start(demos: list[Demo], *args: str, port: int, host: str = "127.0.0.1") -> Demo:
    demo = Demo(*args, env={"MQTT_HOST": host, "MQTT_PORT": str(port)})
    demos.append(demo)
    return demo


def children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`, with their command names."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1 :].rsplit(")", 1)
        if int(rest.split()[1]) == pid:
            found[int(entry.name)] = name
    return found


def gone(pids: dict[int, str]) -> bool:
    """Whether none of `pids` exists any more."""
    return not any(Path(f"/proc/{pid}").exists() for pid in pids)


def test_on_a_running_broker_a_state_shows_within_10_seconds(
    mosquitto: Broker, demos: list[Demo]
) -> None:
    """With a broker on MQTT_HOST:MQTT_PORT the demo uses it and shows states soon."""
    demo = start(demos, "--seconds", "12", port=mosquitto.port)
    assert demo.wait_line(STATE_LINE, FIRST_STATE) < FIRST_STATE
    status, err = demo.finish()
    assert status == 0, err
    first = demo.lines[0][1]
    assert f"publishes to 127.0.0.1:{mosquitto.port};" in first
    assert "Home Assistant discovery: Flume Home — " in demo.text()
    assert re.search(r"^\S+  diagnostics  flume-mqtt \S+: ", demo.text(), re.M)
    assert demo.lines[-1][1].endswith("status       offline"), demo.text() + err


def test_without_a_broker_the_private_one_is_used(demos: list[Demo]) -> None:
    """Nothing listening: a private mosquitto carries the demo, and is gone after."""
    demo = start(demos, "--seconds", "12", port=free_port())
    assert demo.wait_line(STATE_LINE, FIRST_STATE) < FIRST_STATE
    helpers = children(demo.process.pid)
    status, err = demo.finish()
    assert status == 0, err
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", demo.private_port())) != 0
    assert gone(helpers)


def test_ctrl_c_mid_run_stops_cleanly_and_leaves_no_mosquitto(
    demos: list[Demo],
) -> None:
    """SIGINT: the bridge publishes `offline`, the private broker stops, exit 0."""
    demo = start(demos, port=free_port())
    demo.wait_line(STATE_LINE, FIRST_STATE)
    helpers = children(demo.process.pid)
    assert "mosquitto" in helpers.values()
    assert len(helpers) == 2  # and the bridge
    demo.process.send_signal(signal.SIGINT)
    status, err = demo.finish()
    assert status == 0, err
    assert "Traceback" not in err
    assert demo.lines[-1][1].endswith("status       offline"), demo.text() + err
    assert gone(helpers)

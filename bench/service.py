"""`flume-mqtt run` as a process: time to its first state, steady RSS; import floor."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import FLUME_MQTT, PYTHON, cpu_seconds, flume_env, rss_mib
from tests.support.broker import HOST

FIRST_STATE_TIMEOUT = 20.0
# The four runtime dependencies and nothing of ours: what any such bridge pays.
IMPORT_FLOOR = """
import paho.mqtt.client, requests, pydantic_settings, schedule
from pathlib import Path
status = Path("/proc/self/status").read_text().splitlines()
print(next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")))
"""


@dataclass
class StateWatch:
    """A paho subscriber noting when the first state, and the first with usage, came."""

    port: int
    base: str
    first_state: float | None = None
    first_usage: float | None = None
    _usage_seen: threading.Event = field(default_factory=threading.Event)

    def on_message(
        self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage
    ) -> None:
        """Note the arrival times (paho's thread)."""
        arrived = time.monotonic()
        self.first_state = self.first_state or arrived
        if json.loads(message.payload).get("today") is not None:
            self.first_usage = self.first_usage or arrived
            self._usage_seen.set()

    def wait_usage(self, timeout: float) -> tuple[float, float]:
        """Block until a state with usage arrived; when it and the first state came."""
        if not self._usage_seen.wait(timeout):
            raise TimeoutError(f"no state with usage in {timeout:.0f} s")
        return self.first_state or 0.0, self.first_usage or 0.0


@contextmanager
def watching(port: int, base: str) -> Iterator[StateWatch]:
    """Subscribe to `<base>/+/state` until the block ends."""
    watch = StateWatch(port, base)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, f"bench-watch-{base}")
    client.on_message = watch.on_message
    client.connect(HOST, port)
    client.subscribe(f"{base}/+/state", qos=1)
    client.loop_start()
    time.sleep(0.2)  # the SUBACK, before the bridge can publish
    try:
        yield watch
    finally:
        client.disconnect()
        client.loop_stop()


def bridge_env(api_url: str, port: int, base: str, home: Path) -> dict[str, str]:
    """A clean environment for `run`: the simulator's account, a private broker."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "STATE_DIR": str(home / "state"),
        "MQTT_HOST": HOST,
        "MQTT_PORT": str(port),
        "MQTT_BASE_TOPIC": base,
        "MQTT_CLIENT_ID": f"bench-{base}",
        **flume_env(api_url),
    }


@contextmanager
def bridge(
    env: dict[str, str], home: Path, binary: str = FLUME_MQTT
) -> Iterator[subprocess.Popen[bytes]]:
    """`flume-mqtt run` with `env`, stopped with SIGTERM when the block ends."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / "bridge.log").open("wb") as log:
        process = subprocess.Popen(
            [binary, "run"], env=env, cwd=home, stdout=log, stderr=log
        )
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=10)


def first_state(api_url: str, port: int, home: Path, base: str) -> tuple[float, float]:
    """Seconds from the process start to its first state, and to one with usage.

    Every run starts from an empty STATE_DIR: a first start, with a password grant.
    """
    env = bridge_env(api_url, port, base, home)
    with watching(port, base) as watch:
        started = time.monotonic()
        with bridge(env, home):
            state, usage = watch.wait_usage(FIRST_STATE_TIMEOUT)
    return state - started, usage - started


@dataclass(frozen=True)
class Steady:
    """RSS of a `run` process after some time, and its CPU use meanwhile.

    The time counts from the first state with usage: the start is not steady.
    """

    seconds: float
    rss_mib: float
    peak_rss_mib: float  # the largest of the samples taken every few seconds
    cpu_percent: float


def steady_rss(
    api_url: str, port: int, home: Path, seconds: float, binary: str = FLUME_MQTT
) -> Steady:
    """Run the bridge for `seconds`, sampling its memory; the last sample counts.

    `binary`: the `flume-mqtt` to run, another checkout's for bench/rss_versus.py.
    """
    env = bridge_env(api_url, port, "steady", home)
    with watching(port, "steady") as watch, bridge(env, home, binary) as process:
        watch.wait_usage(FIRST_STATE_TIMEOUT)
        started = time.monotonic()
        cpu_before = cpu_seconds(process.pid)
        samples = []
        while time.monotonic() - started < seconds:
            time.sleep(min(5.0, max(0.0, seconds - (time.monotonic() - started))))
            samples.append(rss_mib(process.pid))
        cpu = cpu_seconds(process.pid) - cpu_before
    return Steady(seconds, samples[-1], max(samples), 100 * cpu / seconds)


def import_floor() -> float:
    """RSS in MiB of a python importing paho, requests, pydantic_settings, schedule."""
    output = subprocess.run(
        [PYTHON, "-c", IMPORT_FLOOR], check=True, capture_output=True, text=True
    ).stdout
    return int(output) / 1024

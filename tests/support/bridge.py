"""`flume-mqtt run` as a child process, and the truth its states must equal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bridge.models import UNIT_SYSTEMS
from bridge.simulator.server import Simulator
from tests.support.broker import Broker
from tests.support.clock import parse_utc
from tests.support.mqtt import Seen, Subscriber
from tests.support.simulator import truth

ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT = 10.0
REFRESH_TRIES = 8  # refresh commands per wait (the bridge ignores one within 5 s)


def bridge_env(
    sim: Simulator, broker: Broker, state_dir: Path, **extra: str
) -> dict[str, str]:
    """The environment of a bridge serving `sim`'s demo account on `broker`."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(state_dir.parent),
        "PYTHONPATH": str(ROOT),
        "FLUME_API_URL": sim.url,
        "FLUME_CLIENT_ID": sim.config.client_id,
        "FLUME_CLIENT_SECRET": sim.config.client_secret,
        "FLUME_USERNAME": sim.config.username,
        "FLUME_PASSWORD": sim.config.password,
        "MQTT_HOST": broker.host,
        "MQTT_PORT": str(broker.port),
        "MQTT_CLIENT_ID": f"bridge-{state_dir.name}",
        "STATE_DIR": str(state_dir),
        "LOG_LEVEL": "DEBUG",
    }
    if broker.username is not None:
        env["MQTT_USERNAME"] = broker.username
        env["MQTT_PASSWORD"] = broker.password or ""
    return env | extra


class BridgeProcess:
    """One `flume-mqtt run`; its log goes to a file (a full pipe would block it)."""

    def __init__(
        self, env: Mapping[str, str], log: Path, args: tuple[str, ...] = ()
    ) -> None:
        self.log = log
        self._file = log.open("a", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bridge", "run", *args],
            cwd=log.parent,
            env=dict(env),
            stdout=self._file,
            stderr=subprocess.STDOUT,
        )

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send `sig` and return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=STOP_TIMEOUT)
        self._file.close()
        return code

    def text(self) -> str:
        """Everything the process logged so far."""
        return self.log.read_text(encoding="utf-8")


def windows(end: datetime, tz: str) -> dict[str, tuple[datetime, datetime]]:
    """The UTC span of each window of a state updated at `end` (DESIGN §4)."""
    local = end.astimezone(ZoneInfo(tz))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    week = midnight - timedelta(days=local.weekday())
    month = midnight.replace(day=1)
    year = month.replace(month=1)

    def start(moment: datetime) -> datetime:
        # Wall-clock arithmetic on an aware datetime keeps the old offset: rebuild.
        wall = moment.replace(tzinfo=None)
        return wall.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)

    return {
        "last_60_min": (end - timedelta(minutes=60), end),
        "last_24_hours": (end - timedelta(hours=24), end),
        "today": (start(midnight), end),
        "this_week": (start(week), end),
        "this_month": (start(month), end),
        "this_year": (start(year), end),
        # Closed periods (issue 14): the local day and month before the current ones.
        "yesterday": (start(midnight - timedelta(days=1)), start(midnight)),
        "last_month": (start((month - timedelta(days=1)).replace(day=1)), start(month)),
    }


def expected_state(
    sim: Simulator, state: Mapping[str, Any], tz: str, units: str, offset: float = 0
) -> dict[str, float]:
    """What each volume and the flow of `state` must read, from the simulator."""
    system = UNIT_SYSTEMS[units]
    device = str(state["device_id"])
    end = parse_utc(state["updated_at"])
    found = {
        name: system.volume_of(truth(sim, device, since, until))
        for name, (since, until) in windows(end, tz).items()
    }
    through = parse_utc(state["total_through"])
    minute = truth(sim, device, through - timedelta(minutes=1), through)
    found["flow_rate"] = system.flow_of(minute)
    counted = truth(sim, device, parse_utc(state["total_since"]), through)
    found["total"] = offset + counted * system.per_gallon
    return {name: value for name, value in found.items() if value is not None}


def states(sub: Subscriber, device_id: str, base: str = "flume") -> list[Any]:
    """Every state JSON seen for a device, oldest first."""
    return [seen.json() for seen in sub.on(f"{base}/{device_id}/state")]


def newest_state(sub: Subscriber, device_id: str, **wanted: Any) -> Any:
    """Wait for a state of the device whose fields hold `wanted`; return it."""
    topic = f"flume/{device_id}/state"

    def matches(seen: Seen) -> bool:
        if seen.topic != topic or not seen.payload:
            return False
        document = seen.json()
        return all(check(document.get(key)) for key, check in wanted.items())

    found = sub.wait_for(lambda seen: any(matches(s) for s in seen), timeout=30)
    return next(s for s in reversed(found) if matches(s)).json()


def refresh_until(sub: Subscriber, done: Callable[[], bool], what: str) -> None:
    """Send refresh commands until `done()` holds (one within 5 s is ignored)."""
    for _ in range(REFRESH_TRIES):
        try:
            sub.send("flume/command/refresh", b"")
        except RuntimeError:  # our subscriber is still reconnecting to the broker
            time.sleep(1)
            continue
        try:
            sub.wait_for(lambda _: done(), timeout=6)
        except AssertionError:
            continue
        return
    raise AssertionError(f"never: {what}")


def notified_bridge(
    sim: Simulator, broker: Broker, notify: Path, tmp_path: Path, **env: str
) -> BridgeProcess:
    """`flume-mqtt run` for `broker`, telling the NOTIFY_SOCKET at `notify`."""
    settings = bridge_env(
        sim, broker, tmp_path / "state", NOTIFY_SOCKET=str(notify), **env
    )
    return BridgeProcess(settings, tmp_path / "bridge.log")

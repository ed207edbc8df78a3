"""`make demo`: the bridge on its simulator, a broker for it, and what it publishes."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Final, TextIO

from bridge.commands.demo_broker import (
    START_TIMEOUT,
    DemoError,
    Target,
    choose_target,
    end,
    find_mosquitto,
)
from bridge.commands.demo_lines import Lines
from bridge.config import Settings, load_settings
from bridge.errors import ConfigError, MqttError
from bridge.mqtt.tools import watch

EXIT_FAILURE: Final = 1
EXIT_CONFIG: Final = 78
OFFLINE_GRACE: Final = (
    1.0  # seconds for the bridge's last `offline` to reach the screen
)
BRIDGE: Final = (
    sys.executable, "-m", "bridge", "--log-level", "WARNING", "run", "--demo",
)  # fmt: skip


def say(out: TextIO, line: str) -> None:
    """Write one line at once: the demo is watched live."""
    out.write(line + "\n")
    out.flush()


def intro(target: Target) -> str:
    """The first line: what runs, where it publishes, how to look, how to stop."""
    host, port = target.settings.mqtt_host, target.settings.mqtt_port
    where = f"{host}:{port}"
    broker = f"a private mosquitto on {where}" if target.private else where
    topic = target.settings.mqtt_base_topic
    return (
        f"flume-mqtt demo: the bridge polls its built-in Flume simulator and publishes "
        f"to {broker}; to subscribe yourself: mosquitto_sub -h {host} -p {port} "
        f"-t '{topic}/#' -v; Ctrl-C stops."
    )


class Watcher:
    """The watch loop in a thread of its own, printing the bridge's messages."""

    def __init__(self, settings: Settings, out: TextIO) -> None:
        self.settings = settings
        self.lines = Lines(settings)
        self.out = out
        self.offline = threading.Event()  # the bridge said goodbye
        self.error: MqttError | None = None
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-watch")

    def start(self) -> None:
        """Subscribe before the bridge starts, so that its first message shows.

        Raises:
            DemoError: the broker did not take the subscription.
        """
        self._thread.start()
        self._ready.wait(START_TIMEOUT)
        if self.error is not None or not self._thread.is_alive():
            self.close(0)
            raise DemoError(f"cannot watch the broker: {self.error or 'no answer'}")

    def close(self, grace: float = OFFLINE_GRACE) -> None:
        """Wait up to `grace` seconds for the bridge's `offline`, then disconnect."""
        self.offline.wait(grace)
        self._stop.set()
        self._thread.join()

    def show(self, topic: str, payload: bytes) -> None:
        """Print one message's line, with the time it arrived."""
        line = self.lines.line(topic, payload)
        if line is not None:
            say(self.out, f"{time.strftime('%H:%M:%S')}  {line}")
        if topic == f"{self.settings.mqtt_base_topic}/status" and payload == b"offline":
            self.offline.set()

    def _run(self) -> None:
        base = self.settings.mqtt_base_topic
        filters = [f"{base}/#", f"{self.settings.ha_discovery_prefix}/#"]
        try:
            watch(self.settings, filters, self.show, self._stop, ready=self._ready)
        except MqttError as exc:
            self.error = exc


@contextmanager
def watching(settings: Settings, out: TextIO) -> Iterator[Watcher]:
    """A started Watcher, closed when the block ends."""
    watcher = Watcher(settings, out)
    watcher.start()
    try:
        yield watcher
    finally:
        watcher.close()


@contextmanager
def bridge_process(
    command: Sequence[str], target: Target
) -> Iterator[subprocess.Popen[bytes]]:
    """The bridge, in a session of its own; SIGTERM when the block ends."""
    process = subprocess.Popen(  # noqa: S603  # our own bridge (a test's stand-in)
        list(command), env=dict(target.env), cwd=target.cwd,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        yield process
    finally:
        end(process)


@contextmanager
def stopping_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set `stop` (the children are stopped in order, not killed)."""
    wanted = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def supervise(
    process: subprocess.Popen[bytes], stop: threading.Event, deadline: float
) -> int | None:
    """None at a stop or the deadline; the bridge's exit status if it ended first."""
    while not stop.wait(0.1):
        if process.poll() is not None:
            return process.returncode
        if time.monotonic() >= deadline:
            break
    return None


def demo(
    seconds: float,
    *,
    command: Sequence[str] = BRIDGE,
    find: Callable[[], str | None] = find_mosquitto,
    out: TextIO | None = None,
) -> int:
    """Run the demo for `seconds` (or until SIGINT/SIGTERM); return the exit status."""
    stop = threading.Event()
    try:
        with stopping_on_signals(stop), ExitStack() as stack:
            deadline = time.monotonic() + seconds
            settings = load_settings(demo=True)
            scratch = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="flume-mqtt-demo-")
            )
            target = choose_target(settings, stack, Path(scratch), find())
            say(out or sys.stdout, intro(target))
            stack.enter_context(watching(target.settings, out or sys.stdout))
            process = stack.enter_context(bridge_process(command, target))
            return stopped(supervise(process, stop, deadline))
    except ConfigError as exc:
        say(sys.stderr, f"config error: {exc}")
        return EXIT_CONFIG
    except DemoError as exc:
        say(sys.stderr, f"flume-mqtt demo: {exc}")
        return EXIT_FAILURE


def stopped(code: int | None) -> int:
    """0 when we stopped the bridge; a bridge that ended by itself is a failure."""
    if code is None:
        return 0
    say(sys.stderr, f"flume-mqtt demo: the bridge stopped by itself (status {code})")
    return EXIT_FAILURE


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bridge.commands.demo [--seconds N]`."""
    parser = argparse.ArgumentParser(
        prog="python -m bridge.commands.demo", description=__doc__
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=float("inf"),
        help="stop after this many seconds (default: at Ctrl-C)",
    )
    return demo(parser.parse_args(argv).seconds)


if __name__ == "__main__":
    raise SystemExit(main())

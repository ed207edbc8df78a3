"""The real Service in a thread of the test process, with its settings and outcome."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from bridge import app
from bridge.config import Settings
from bridge.flume.tokens import Credentials
from bridge.models import Message
from bridge.service import Jobs, Parts, Service
from bridge.simulator.account import SimConfig
from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator
from tests.support.broker import Broker
from tests.support.flume import DEMO
from tests.support.mqtt import broker_settings
from tests.support.simulator import START

JOIN_TIMEOUT = 10.0


def service_settings(
    sim: Simulator, broker: Broker, state_dir: Path, **fields: Any
) -> Settings:
    """Settings for a service polling `sim` and publishing to `broker`."""
    return broker_settings(broker, flume_api_url=sim.url, state_dir=state_dir, **fields)


Now = Callable[[], datetime]


@contextmanager
def made_parts(
    settings: Settings,
    login: Credentials = DEMO,
    now: Callable[[Now], Now] = lambda flume_now: flume_now,
) -> Iterator[Parts]:
    """The parts as bridge.app wires them; `now` may wrap Flume's clock."""
    with closing(app.parts(settings, login)) as built:
        yield dataclasses.replace(built, now=now(built.now))


@contextmanager
def built(
    settings: Settings, login: Credentials = DEMO, stop: threading.Event | None = None
) -> Iterator[Service]:
    """The service bridge.app builds for `settings`, its session closed after."""
    with closing(app.parts(settings, login)) as parts:
        yield app.service(parts, stop or threading.Event())


class ServiceThread:
    """`Service.run()` on a thread of its own; what it raised is kept, not lost."""

    def __init__(self, service: Service, stop: threading.Event) -> None:
        self.service = service
        self.stop = stop
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="service")
        self._thread.start()

    def _serve(self) -> None:
        try:
            self.service.run()
        except BaseException as error:  # noqa: BLE001  # handed to the test to judge
            self.error = error

    def ended(self, timeout: float = JOIN_TIMEOUT) -> BaseException | None:
        """Wait for run() to return by itself; what it raised, if anything."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the service did not end"
        return self.error

    def finish(self) -> BaseException | None:
        """Set the stop event and wait for run() to return."""
        self.stop.set()
        return self.ended()


@contextmanager
def running(settings: Settings, login: Credentials = DEMO) -> Iterator[ServiceThread]:
    """A service built by bridge.app, running until the block ends."""
    stop = threading.Event()
    with built(settings, login, stop) as service, serving(service, stop) as thread:
        yield thread


@contextmanager
def serving(service: Service, stop: threading.Event) -> Iterator[ServiceThread]:
    """Run `service` on a thread until the block ends."""
    thread = ServiceThread(service, stop)
    try:
        yield thread
    except BaseException as failure:
        # Whatever the service raised is the likelier cause of the test's failure.
        failure.add_note(f"the service raised: {thread.finish()!r}")
        raise
    finally:
        thread.finish()


def replace_on_same_port(sim: Simulator, **config: Any) -> Simulator:
    """Stop `sim`; start another account on its port: the same URL, other devices."""
    port = urllib.parse.urlsplit(sim.url).port
    sim.stop()
    other = Simulator(SimConfig(**config), SimClock(START, speed=0.0))
    other.start("127.0.0.1", port or 0)
    return other


def datagrams(sock: socket.socket) -> list[str]:
    """Every notification queued on `sock` so far."""
    sock.setblocking(False)
    found = []
    while True:
        try:
            found.append(sock.recv(4096).decode())
        except BlockingIOError:
            return found


def eventually(check: Callable[[], bool], timeout: float = JOIN_TIMEOUT) -> None:
    """Poll `check` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


class Published(list[Message]):
    """Every message the jobs handed to the publisher, in order."""

    def on(self, topic: str) -> list[bytes]:
        """The payloads sent to `topic`."""
        return [m.payload for m in self if m.topic == topic]

    def state(self, device_id: str) -> Any:
        """The newest state of a device, parsed."""
        return json.loads(self.on(f"flume/{device_id}/state")[-1])


JobsFactory = Callable[..., tuple[Jobs, Published]]


@contextmanager
def jobs_factory(state_dir: Path) -> Iterator[JobsFactory]:
    """Jobs wired to a simulator as the service wires them; sessions closed after."""
    with ExitStack() as stack:

        def make(sim: Simulator, **fields: Any) -> tuple[Jobs, Published]:
            settings = Settings(flume_api_url=sim.url, state_dir=state_dir, **fields)
            parts = stack.enter_context(made_parts(settings))
            published = Published()
            return Jobs(parts, published.append, started=parts.now()), published

        yield make

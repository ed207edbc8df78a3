"""The `run` command's composition: settings to a running Service, signals, --demo."""

from __future__ import annotations

import logging
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Final

import requests

from bridge.alerts import AlertBook
from bridge.config import Settings
from bridge.discovery import MessageBuilder
from bridge.flume.budget import RequestBudget
from bridge.flume.client import FlumeClient
from bridge.flume.http import FlumeHttp
from bridge.flume.planner import plan
from bridge.flume.serverclock import ServerClock
from bridge.flume.tokens import Credentials, TokenManager, TokenStore
from bridge.jobs import Parts
from bridge.meter import Meter
from bridge.mqtt import MqttPublisher
from bridge.service import Service
from bridge.simulator.account import SimConfig
from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator
from bridge.systemd import Notifier

log = logging.getLogger(__name__)

# The demo's household: a slow leak to alert on, and water visible half a minute
# after it runs, so a newcomer sees usage at once.
DEMO_SIM: Final = SimConfig(leak=True, latency_minutes=0.5)


def serve(settings: Settings, login: Credentials) -> None:
    """Run the service until SIGTERM or SIGINT.

    Raises:
        BridgeError: a permanent failure (credentials, configuration).
    """
    stop = threading.Event()
    with requests.Session() as session:
        service = build(settings, login, session, stop)
        with _signals(service):
            service.run()


def build(
    settings: Settings,
    login: Credentials,
    session: requests.Session,
    stop: threading.Event,
) -> Service:
    """Wire the Flume client, meter, alerts, publisher and notifier into a Service."""
    return Service(
        parts(settings, login, session), MqttPublisher(settings), Notifier(), stop
    )


def parts(
    settings: Settings,
    login: Credentials,
    session: requests.Session,
    *,
    seconds: Callable[[], float] | None = None,
    budget: RequestBudget | None = None,
) -> Parts:
    """The Flume side of the service, on Flume's clock (the `Date` of its answers).

    Args:
        settings: the configuration.
        login: the Flume account.
        session: the HTTP session every request goes through.
        seconds: the host's clock in POSIX seconds, for the budget too (the bench
            and the soak run days on a simulated one); default: the real clocks.
        budget: a limiter of the caller's (a seeded jitter); default: the plan's.
    """
    per_hour = settings.flume_requests_per_hour
    if budget is None:
        reserve = plan(per_hour, 1).token_reserve
        budget = RequestBudget(per_hour, seconds or time.monotonic, reserve=reserve)
    clock = ServerClock(local=seconds or time.time)
    http = FlumeHttp(
        session,
        settings.flume_api_url,
        settings.flume_timeout,
        budget,
        server_clock=clock,
    )
    tokens = TokenManager(http, login, TokenStore(settings.state_dir), now=clock.now)
    return Parts(
        settings=settings,
        client=FlumeClient(http, tokens),
        budget=budget,
        meter=Meter(settings.state_dir),
        alerts=AlertBook(settings.state_dir, clock.now),
        builder=MessageBuilder(settings),
        now=clock.now,
    )


@contextmanager
def demo(settings: Settings) -> Iterator[tuple[Settings, Credentials]]:
    """The simulator on a free loopback port, and settings that point at it."""
    with ExitStack() as stack:
        simulator = Simulator(DEMO_SIM, SimClock(datetime.now(UTC)))
        url = simulator.start("127.0.0.1", 0)
        stack.callback(simulator.stop)
        log.info("demo: the Flume simulator listens on %s", url)
        # A fresh simulator each time: an earlier demo's token and counters are not
        # its own, so the demo keeps its state in a directory of its own.
        temp = stack.enter_context(tempfile.TemporaryDirectory(prefix="flume-demo-"))
        update = {"flume_api_url": url, "state_dir": Path(temp)}
        config = DEMO_SIM
        login = Credentials.of(
            config.client_id, config.client_secret, config.username, config.password
        )
        yield settings.model_copy(update=update), login


@contextmanager
def _signals(service: Service) -> Iterator[None]:
    def handle(_signum: int, _frame: FrameType | None) -> None:
        service.interrupt()

    previous = {
        sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

"""`flume-mqtt run`: the service until SIGTERM or SIGINT, on Flume or the simulator."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from types import FrameType

from bridge import app, statefile
from bridge.config import Settings
from bridge.flume.tokens import Credentials
from bridge.service import Service
from bridge.service.recovery import recover_from_broker


def run(settings: Settings, *, demo: bool = False) -> None:
    """Run the service until SIGTERM or SIGINT.

    Raises:
        BridgeError: a permanent failure (credentials, configuration).
    """
    with ExitStack() as stack:
        if demo:
            # Here, not at the top: only --demo loads the simulator (about 2 MiB).
            from bridge.commands.simulate import simulated  # noqa: PLC0415

            settings, login = stack.enter_context(simulated(settings))
        else:
            login = app.credentials(settings)
        serve(settings, login)


def serve(settings: Settings, login: Credentials) -> None:
    """The service of `settings` and `login`, with SIGTERM and SIGINT stopping it.

    Raises:
        ConfigError: STATE_DIR cannot be written (checked first: the service tells
            systemd it is ready as soon as it starts).
    """
    statefile.probe(settings.state_dir)
    with closing(app.parts(settings, login)) as parts:
        # Before the service publishes anything: a lost meter takes back its counts.
        recover_from_broker(settings, parts.meter)
        service = app.service(parts, threading.Event())
        with _signals(service):
            service.run()


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

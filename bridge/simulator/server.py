"""The Simulator: the Flume API simulator as one object that serves on a thread."""

from __future__ import annotations

import threading
from types import TracebackType

from bridge.simulator.account import SimConfig
from bridge.simulator.app import App
from bridge.simulator.behaviour import BehaviourBox
from bridge.simulator.clock import SimClock
from bridge.simulator.faults import FaultBook
from bridge.simulator.httpd import SimHTTPServer
from bridge.simulator.model import Model
from bridge.simulator.ratelimit import RateLimiter
from bridge.simulator.state import State
from bridge.simulator.stats import Stats
from bridge.simulator.tokens import Credentials, TokenStore


def credentials(config: SimConfig, user_id: int) -> Credentials:
    """Return what the token endpoint accepts for the configured account."""
    return Credentials(
        client_id=config.client_id,
        client_secret=config.client_secret,
        username=config.username,
        password=config.password,
        user_id=user_id,
        token_ttl=config.token_ttl,
    )


class Simulator:
    """The Flume cloud on a loopback port: `with Simulator() as sim: sim.url`."""

    def __init__(
        self, config: SimConfig | None = None, clock: SimClock | None = None
    ) -> None:
        self.config = config if config is not None else SimConfig()
        self.clock = clock if clock is not None else SimClock()
        self.model = Model(self.config, self.clock.now)
        self.state = State(
            model=self.model,
            clock=self.clock,
            tokens=TokenStore(
                credentials(self.config, self.model.account.user_id), self.clock.now
            ),
            limiter=RateLimiter(self.config.rate_limit, self.clock.now),
            faults=FaultBook(self.clock.now),
            stats=Stats(),
            behaviour=BehaviourBox(self.config.behaviour),
        )
        self.state.limiter.set_other_client(
            self.model.account.user_id, self.config.behaviour.other_client_per_hour
        )
        self._server: SimHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on a daemon thread and return the base URL (port 0: a free one)."""
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        self._server = SimHTTPServer((host, port), App(self.state), self.clock.now)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="flume-simulator",
            daemon=True,
        )
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:8089 (only while running)."""
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        host, port = self._server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def stop(self) -> None:
        """Stop serving and close every connection; a no-op when not running."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

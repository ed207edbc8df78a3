"""The simulator on the command line: `flume-mqtt simulate`, and `run --demo`'s own.

The only door from the bridge to bridge.simulator, opened by these two alone.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from bridge.config import Settings
from bridge.flume.tokens import Credentials
from bridge.simulator import cli
from bridge.simulator.account import SimConfig
from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator

log = logging.getLogger(__name__)

# The demo's household: a slow leak to alert on, and water visible half a minute
# after it runs, so a newcomer sees usage at once.
DEMO_SIM: Final = SimConfig(leak=True, latency_minutes=0.5)


def simulate(argv: Sequence[str]) -> int:
    """`flume-mqtt simulate [options]`: serve the simulator until SIGINT or SIGTERM."""
    return cli.main(argv, prog="flume-mqtt simulate")


@contextmanager
def simulated(settings: Settings) -> Iterator[tuple[Settings, Credentials]]:
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

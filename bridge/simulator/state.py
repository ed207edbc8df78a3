"""Everything a route handler may touch, bundled for the route table."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.simulator.clock import SimClock
from bridge.simulator.faults import FaultBook
from bridge.simulator.model import Model
from bridge.simulator.ratelimit import RateLimiter
from bridge.simulator.stats import Stats
from bridge.simulator.tokens import TokenStore


@dataclass(frozen=True, slots=True)
class State:
    """The simulator's parts: the water model and the API machinery around it."""

    model: Model
    clock: SimClock
    tokens: TokenStore
    limiter: RateLimiter
    faults: FaultBook
    stats: Stats

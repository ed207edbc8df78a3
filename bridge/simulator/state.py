"""Everything a route handler may touch, bundled for the route table."""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.simulator.behaviour import Behaviour, BehaviourBox
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
    behaviour: BehaviourBox = field(default_factory=lambda: BehaviourBox(Behaviour()))

    def set_behaviour(self, changes: dict[str, object]) -> Behaviour:
        """Change some settings and tell the rate limiter of another client's pace.

        Raises BehaviourError for an unknown or invalid setting.
        """
        current = self.behaviour.update(changes)
        if "other_client_per_hour" in changes:
            user_id = self.model.account.user_id
            self.limiter.set_other_client(user_id, current.other_client_per_hour)
        return current

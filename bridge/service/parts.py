"""The service's collaborators, built by bridge.app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bridge.alerts import AlertBook, RuleBook
from bridge.config import Settings
from bridge.contract import Contract
from bridge.flume.budget import RequestBudget
from bridge.flume.client import FlumeClient
from bridge.meter import Meter


@dataclass(frozen=True, slots=True)
class Parts:
    """The service's collaborators, built by bridge.app."""

    settings: Settings
    client: FlumeClient
    budget: RequestBudget
    meter: Meter
    alerts: AlertBook
    rules: RuleBook
    contract: Contract
    now: Callable[[], datetime]  # Flume's clock (bridge.flume.clock)

    def close(self) -> None:
        """Save what the meter and the rules kept in memory; close the HTTP session."""
        self.meter.flush()
        self.rules.flush()
        self.client.close()

"""The service's collaborators, built by bridge.app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bridge.alerts import AlertBook
from bridge.config import Settings
from bridge.contract import Contract
from bridge.flume.budget import RequestBudget
from bridge.flume.client import FlumeClient
from bridge.meter import Meter
from bridge.rules import RuleBook


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
        """Close the Flume client's HTTP session."""
        self.client.close()

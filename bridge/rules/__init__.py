"""The local rules (continuous, sustained and away flow) and water-use sessions."""

from __future__ import annotations

from bridge.rules.book import RuleBook, event_of, thresholds
from bridge.rules.engine import RULES, Thresholds, Tracker

__all__ = ["RULES", "RuleBook", "Thresholds", "Tracker", "event_of", "thresholds"]

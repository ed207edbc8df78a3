"""Events of a sensor's water: Flume's alerts and the local rules beside them.

flume: Flume's notifications and usage alerts, once each (alerts.json).
rules: one sensor's local rules and water-use sessions, judged minute by minute (pure).
rulebook: every sensor's rules, events once each; rulesfile: rules.json and back.
"""

from __future__ import annotations

from bridge.alerts.flume import AlertBook
from bridge.alerts.rulebook import RuleBook, event_of, thresholds
from bridge.alerts.rules import RULES, Thresholds, Tracker

__all__ = [
    "RULES",
    "AlertBook",
    "RuleBook",
    "Thresholds",
    "Tracker",
    "event_of",
    "thresholds",
]

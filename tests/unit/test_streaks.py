"""Streaks: a repeated condition is a WARNING when it starts, DEBUG while it lasts."""

from __future__ import annotations

import logging

import pytest

from bridge.service.streaks import Streaks

log = logging.getLogger("tests.streaks")


def test_a_streak_warns_once_and_again_after_it_cleared(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """warn, warn, clear (INFO), warn: WARNING, DEBUG, INFO, WARNING."""
    caplog.set_level(logging.DEBUG, logger="tests.streaks")
    streaks = Streaks(log)
    streaks.warn("a", "a is off (%d)", 1)
    streaks.warn("a", "a is off (%d)", 2)
    streaks.warn("b", "b is off")
    streaks.clear("a", "a is back")
    streaks.clear("a", "a is back")  # no streak: nothing to say
    streaks.clear("c")
    streaks.warn("a", "a is off (%d)", 3)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "a is off (1)"),
        ("DEBUG", "a is off (2)"),
        ("WARNING", "b is off"),
        ("INFO", "a is back"),
        ("WARNING", "a is off (3)"),
    ]

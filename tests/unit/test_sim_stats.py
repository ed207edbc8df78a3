"""The simulator's request log keeps the newest requests and counts the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.simulator.stats import Stats

T0 = datetime(2026, 3, 10, tzinfo=UTC)


def test_the_log_keeps_the_newest_requests_and_says_how_many_fell_off() -> None:
    """Past its limit the log drops the oldest entries; the totals still count all."""
    stats = Stats(log_limit=3)
    for minute in range(5):
        stats.record("GET /users/{uid}", "200", T0 + timedelta(minutes=minute))
    entries, dropped = stats.log()
    assert [at.minute for at, _, _ in entries] == [2, 3, 4]
    assert dropped == 2
    assert stats.snapshot()["total"] == 5
    stats.reset()
    assert stats.log() == ([], 0)

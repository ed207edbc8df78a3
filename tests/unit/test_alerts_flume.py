"""AlertBook: event types, dedupe, the first-poll watermark, persistence, the hold."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.alerts.flume import (
    ALERTS_FILE,
    HIGH_FLOW_HOLD,
    LOOKBACK,
    MAX_SEEN,
    AlertBook,
    alert_type,
    notification_type,
)
from bridge.models import Event, Notification, UsageAlert
from tests.support.clock import FakeClock

START = datetime(2026, 3, 10, 18, 30, tzinfo=UTC)
SENSOR = "6248148189204194987"
LOGGER = "bridge.alerts.flume"
LEAK = "Flume Smart Leak Alert"
HIGH = "High Flow Alert"


@pytest.fixture
def clock() -> FakeClock[datetime]:
    return FakeClock(START)


def note(
    nid: int,
    at: datetime,
    rule: str | None = LEAK,
    *,
    kind: int | None = 1,
    device: str | None = SENSOR,
) -> Notification:
    """A notification as FlumeClient returns it."""
    return Notification(
        id=nid,
        created_at=at,
        device_id=device,
        type=kind,
        title=rule,
        message=f"message {nid}",
        read=False,
        rule=rule,
    )


def alert(
    aid: int, at: datetime, rule: str = LEAK, *, leak: bool | None = None
) -> UsageAlert:
    """A usage alert as FlumeClient returns it."""
    return UsageAlert(id=aid, triggered_at=at, device_id=SENSOR, leak=leak, rule=rule)


def started(state_dir: Path, clock: FakeClock[datetime]) -> AlertBook:
    """A book past its first poll (which saw an empty account)."""
    book = AlertBook(state_dir, clock)
    assert book.update([], []) == []
    return book


@pytest.mark.parametrize(
    ("rule", "leak", "expected"),
    [
        ("Flume Smart Leak Alert", None, "leak"),
        ("Flume Smart Leak Rule", False, "leak"),
        ("Low Flow Leak", None, "leak"),
        ("Custom Rule", True, "leak"),
        ("High Flow Alert", False, "high_flow"),
        ("Custom Rule", False, "alert"),
        (None, None, "alert"),
    ],
)
def test_usage_alert_types(rule: str | None, leak: bool | None, expected: str) -> None:
    """A usage alert is a leak by rule or by Flume's flag; other rules are alerts."""
    found = UsageAlert(id=1, triggered_at=START, leak=leak, rule=rule)
    assert alert_type(found) == expected


@pytest.mark.parametrize(
    ("rule", "kind", "expected"),
    [
        ("Flume Smart Leak Alert", 1, "leak"),
        ("High Flow Alert", 1, "high_flow"),
        ("Low Battery", 16, "low_battery"),
        (None, 16, "low_battery"),
        ("Bridge Disconnection", 8, "bridge_disconnected"),
        (None, 8, "bridge_disconnected"),
        ("100% of daily budget", 2, "budget"),
        ("Test", 1, "alert"),
        (None, 4, "alert"),
        (None, None, "alert"),
    ],
)
def test_notification_types(rule: str | None, kind: int | None, expected: str) -> None:
    """A notification's rule names its type; without a known rule its type bit does."""
    assert notification_type(note(1, START, rule, kind=kind)) == expected


def test_the_first_poll_ever_is_history(
    tmp_path: Path, clock: FakeClock[datetime]
) -> None:
    """What is on record at the first poll is not news; what comes after is."""
    book = AlertBook(tmp_path, clock)
    assert book.since() is None
    history = [note(1, START - timedelta(days=3)), note(2, START - timedelta(hours=2))]
    assert book.update(history, [alert(2, START - timedelta(hours=2))]) == []
    assert (tmp_path / ALERTS_FILE).exists()
    assert book.since() == START - LOOKBACK
    clock.now += timedelta(minutes=20)
    fresh = note(3, START + timedelta(minutes=10), HIGH)
    assert book.update([fresh, *history], []) == [
        (SENSOR, Event("high_flow", HIGH, "message 3", fresh.created_at))
    ]
    assert book.since() == fresh.created_at - LOOKBACK


def test_each_id_is_one_event(tmp_path: Path, clock: FakeClock[datetime]) -> None:
    """Seeing the same items again, in any order, emits nothing more."""
    book = started(tmp_path, clock)
    clock.now += timedelta(hours=1)
    items = [
        note(7, START + timedelta(minutes=5)),
        note(8, START + timedelta(minutes=1)),
    ]
    events = book.update(items, [])
    assert [event.at for _, event in events] == [
        START + timedelta(minutes=1),
        START + timedelta(minutes=5),
    ]
    assert book.update(items[::-1], []) == []


def test_a_usage_alert_and_its_notification_are_one_event(
    tmp_path: Path, clock: FakeClock[datetime]
) -> None:
    """Same device, type and minute: one event, with the notification's words."""
    book = started(tmp_path, clock)
    clock.now += timedelta(hours=1)
    at = START + timedelta(minutes=30)
    noted = at + timedelta(seconds=20)
    events = book.update([note(900, noted)], [alert(5, at)])
    assert events == [(SENSOR, Event("leak", LEAK, "message 900", noted))]
    later = at + timedelta(minutes=1)
    assert book.update([], [alert(6, later, leak=True)]) == [
        (SENSOR, Event("leak", LEAK, None, later))
    ]
    assert book.update([note(901, later)], []) == []


@pytest.mark.parametrize(
    ("connected", "expected"),
    [
        (False, "bridge_disconnected"),
        (True, "bridge_connected"),
        (None, "bridge_disconnected"),
    ],
)
def test_a_heartbeat_says_which_way_the_bridge_went(
    connected: bool | None, expected: str
) -> None:
    """The heartbeat rule reports reconnections too: extra.connected tells which."""
    heartbeat = dataclasses.replace(
        note(1, START, "Bridge Disconnection", kind=8), connected=connected
    )
    assert notification_type(heartbeat) == expected


def test_different_types_in_one_minute_are_two_events(
    tmp_path: Path, clock: FakeClock[datetime]
) -> None:
    """A leak and a low battery in the same minute are both news."""
    book = started(tmp_path, clock)
    clock.now += timedelta(hours=1)
    at = START + timedelta(minutes=30)
    events = book.update([note(1, at), note(2, at, "Low Battery", kind=16)], [])
    assert [event.type for _, event in events] == ["leak", "low_battery"]


def test_a_restart_repeats_nothing(tmp_path: Path, clock: FakeClock[datetime]) -> None:
    """A new book on the same directory knows what the old one emitted."""
    book = started(tmp_path, clock)
    clock.now += timedelta(hours=1)
    items = [note(1, START + timedelta(minutes=5))], [alert(1, START)]
    assert len(book.update(*items)) == 2
    again = AlertBook(tmp_path, clock)
    assert again.since() == book.since()
    assert again.update(*items) == []
    newer = note(2, START + timedelta(minutes=50), HIGH)
    assert len(again.update([newer, *items[0]], items[1])) == 1


def test_items_without_a_device_are_skipped(
    tmp_path: Path, clock: FakeClock[datetime], caplog: pytest.LogCaptureFixture
) -> None:
    """An account-wide notification has no sensor to publish on: DEBUG, no event."""
    book = started(tmp_path, clock)
    clock.now += timedelta(hours=1)
    general = note(3, START + timedelta(minutes=5), None, kind=4, device=None)
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        assert book.update([general], []) == []
    assert "skipping notification:3: no device" in caplog.text
    assert book.update([general], []) == []


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe",
        b"[]",
        b'{"format": 2}',
        b'{"format": 1, "watermark": "2026-03-10T18:30:00+00:00"}',
        b'{"format": 1, "watermark": 5, "horizon": 5, "seen": {}}',
        b'{"format": 1, "watermark": "2026-03-10T18:30:00", '
        b'"horizon": "2026-03-10T18:30:00", "seen": {}}',
        b'{"format": 1, "watermark": "x", "horizon": "x", "seen": []}',
    ],
)
def test_a_corrupt_file_starts_a_fresh_watermark(
    tmp_path: Path,
    clock: FakeClock[datetime],
    caplog: pytest.LogCaptureFixture,
    content: bytes,
) -> None:
    """An unreadable alerts.json is one WARNING; history is again not replayed."""
    (tmp_path / ALERTS_FILE).write_bytes(content)
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        book = AlertBook(tmp_path, clock)
        assert book.since() is None
        assert book.update([note(1, START - timedelta(minutes=5))], []) == []
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert ALERTS_FILE in warnings[0].getMessage()
    assert AlertBook(tmp_path, clock).since() == START - LOOKBACK


def test_a_directory_in_place_of_the_file_is_one_warning(
    tmp_path: Path, clock: FakeClock[datetime], caplog: pytest.LogCaptureFixture
) -> None:
    """A file that cannot be read at all is ignored like a corrupt one."""
    (tmp_path / ALERTS_FILE).mkdir()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert AlertBook(tmp_path, clock).since() is None
    assert len(caplog.records) == 1


def test_leftover_temp_files_are_removed(
    tmp_path: Path, clock: FakeClock[datetime]
) -> None:
    """A temp file left by a writer killed before its rename goes at the next start."""
    leftover = tmp_path / ".alerts.abc123.tmp"
    leftover.write_bytes(b"{")
    AlertBook(tmp_path, clock)
    assert not leftover.exists()


def test_a_failed_save_still_emits_and_warns_once(
    tmp_path: Path, clock: FakeClock[datetime], caplog: pytest.LogCaptureFixture
) -> None:
    """A read-only or missing STATE_DIR costs persistence, not the events."""
    state_dir = tmp_path / "state"
    book = started(state_dir, clock)
    shutil.rmtree(state_dir)
    state_dir.write_bytes(b"")  # a file where the directory was: nothing can be saved
    clock.now += timedelta(hours=1)
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        first = book.update([note(1, START + timedelta(minutes=1))], [])
        second = book.update([note(2, START + timedelta(minutes=2))], [])
    assert len(first) == len(second) == 1
    levels = [r.levelno for r in caplog.records if "could not save" in r.getMessage()]
    assert levels == [logging.WARNING, logging.DEBUG]
    state_dir.unlink()
    assert len(book.update([note(3, START + timedelta(minutes=3))], [])) == 1
    assert (state_dir / ALERTS_FILE).exists()
    assert len(book.update([note(4, START + timedelta(minutes=4))], [])) == 1
    assert [
        r.levelno for r in caplog.records if "could not save" in r.getMessage()
    ] == [
        logging.WARNING,
        logging.DEBUG,
    ]


def test_nothing_is_written_when_nothing_changed(
    tmp_path: Path, clock: FakeClock[datetime]
) -> None:
    """Polls without news leave alerts.json alone (an SD card wears out)."""
    book = started(tmp_path, clock)
    path = tmp_path / ALERTS_FILE
    path.write_bytes(path.read_bytes() + b" ")
    assert book.update([], []) == []
    assert path.read_bytes().endswith(b" ")


def test_memory_keeps_a_day_of_ids(tmp_path: Path, clock: FakeClock[datetime]) -> None:
    """Ids a day older than the newest item are forgotten, and stay history."""
    book = started(tmp_path, clock)
    old = [note(i, START + timedelta(minutes=i)) for i in range(1, 4)]
    clock.now += timedelta(days=3)
    assert len(book.update(old, [])) == 3
    newest = note(99, START + timedelta(days=2))
    assert len(book.update([newest], [])) == 1
    seen = json.loads((tmp_path / ALERTS_FILE).read_bytes())["seen"]
    assert len(seen) == 2  # the newest item's id and minute keys
    assert book.update(old, []) == []
    assert AlertBook(tmp_path, clock).update(old, []) == []


def test_memory_is_capped(tmp_path: Path, clock: FakeClock[datetime]) -> None:
    """A flood of items keeps at most MAX_SEEN keys; the forgotten stay history."""
    book = started(tmp_path, clock)
    clock.now += timedelta(hours=12)
    flood = [
        note(i, START + timedelta(minutes=i // 10), device=f"sensor-{i % 10}")
        for i in range(MAX_SEEN)
    ]
    assert len(book.update(flood, [])) == len(flood)
    seen = json.loads((tmp_path / ALERTS_FILE).read_bytes())["seen"]
    assert len(seen) <= MAX_SEEN
    assert book.update(flood, []) == []
    assert AlertBook(tmp_path, clock).update(flood, []) == []


def test_a_date_in_the_future_does_not_move_the_watermark_past_now(
    tmp_path: Path, clock: FakeClock[datetime]
) -> None:
    """A notification dated next year must not hide the ones of today."""
    book = started(tmp_path, clock)
    clock.now += timedelta(minutes=5)
    assert len(book.update([note(1, START + timedelta(days=365))], [])) == 1
    assert book.since() == clock.now - LOOKBACK
    today = note(2, START + timedelta(minutes=1), HIGH)
    assert len(book.update([today], [])) == 1


def test_high_flow_is_held_for_an_hour(
    tmp_path: Path, clock: FakeClock[datetime]
) -> None:
    """None before a poll, True for an hour after a High Flow Alert, then False."""
    book = AlertBook(tmp_path, clock)
    assert book.high_flow(SENSOR) is None
    book.update([], [alert(1, START - timedelta(minutes=10), HIGH)])
    assert book.high_flow(SENSOR) is True  # history counts for the state
    assert book.high_flow("other") is False
    clock.now += HIGH_FLOW_HOLD - timedelta(minutes=10)
    assert book.high_flow(SENSOR) is False
    book.update([note(2, clock.now - timedelta(minutes=1), HIGH)], [])
    book.update([], [alert(3, clock.now - timedelta(minutes=30), HIGH)])
    clock.now += HIGH_FLOW_HOLD - timedelta(seconds=61)
    assert book.high_flow(SENSOR) is True
    clock.now += timedelta(seconds=1)
    assert book.high_flow(SENSOR) is False


def test_a_leak_is_not_high_flow(tmp_path: Path, clock: FakeClock[datetime]) -> None:
    """Only the High Flow rule sets high flow; a device-less one sets nothing."""
    book = started(tmp_path, clock)
    book.update([note(1, START, LEAK), note(2, START, HIGH, device=None)], [])
    assert book.high_flow(SENSOR) is False

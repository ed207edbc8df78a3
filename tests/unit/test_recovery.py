"""Recovering a lost meter from the bridge's own retained states."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.config import Settings
from bridge.contract import Topics
from bridge.errors import MqttError
from bridge.meter import METER_FILE, PREVIOUS, Meter, Reading
from bridge.models import UNIT_SYSTEMS
from bridge.service.board import Board
from bridge.service.recovery import reading_of, recover

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
THROUGH = T0 + timedelta(hours=5, minutes=31)
SENSOR = "6248148189204194987"
HUB = "6248148189204194900"
TOPICS = Topics.of(Settings())


def published(units: str, gallons: float, offset: float) -> bytes:
    """A sensor state as the board publishes a count of `gallons`."""
    board = Board(UNIT_SYSTEMS[units], offset)
    document = {
        "device_id": SENSOR,
        "unit": UNIT_SYSTEMS[units].volume,
        "today": 3.5,
        "total": board.total(gallons),
        "total_since": "2026-11-28T12:00:00Z",
        "total_through": "2026-11-28T17:31:00Z",
    }
    return json.dumps(document, ensure_ascii=False).encode()


def lost(state_dir: Path) -> Meter:
    """A meter whose two generations are garbage."""
    state_dir.mkdir(exist_ok=True)
    for name in (METER_FILE, PREVIOUS):
        (state_dir / name).write_bytes(b"garbage")
    meter = Meter(state_dir)
    assert meter.lost
    return meter


@pytest.mark.parametrize("units", sorted(UNIT_SYSTEMS))
@pytest.mark.parametrize("offset", [0.0, 1234.5])
def test_a_published_total_converts_back_to_a_count_that_publishes_the_same(
    units: str, offset: float
) -> None:
    """In every unit and offset, the recovered count republishes the same total."""
    gallons = 12345.678901
    reading = reading_of(published(units, gallons, offset), offset)
    assert reading is not None
    assert (reading.since, reading.through) == (T0, THROUGH)
    board = Board(UNIT_SYSTEMS[units], offset)
    assert board.total(reading.gallons) == board.total(gallons)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"device_id": "1", "connected": true, "last_seen": null}',
        b'{"device_id": "1", "unit": "gal", "total": null}',
    ],
    ids=["hub", "never-counted"],
)
def test_a_state_without_a_count_recovers_nothing(payload: bytes) -> None:
    """A Flume Bridge's state or a sensor never counted: no count, no error."""
    assert reading_of(payload, 0.0) is None


STAMP = (
    b'"total_since": "2026-11-28T12:00:00Z", "total_through": "2026-11-28T12:00:00Z"'
)
BROKEN = {
    "bytes": (b"\xff\x00", "Expecting value"),
    "list": (b"[1, 2]", "not a JSON object"),
    "text": (b'{"unit": "gal", "total": "12", ' + STAMP + b"}", "not a number"),
    "unit": (b'{"unit": "pints", "total": 120, ' + STAMP + b"}", "KeyError"),
    "seconds": (
        b'{"unit": "gal", "total": 120, "total_since": "2026-11-28T12:00:30Z"}',
        "not an aware whole minute",
    ),
    "backwards": (
        b'{"unit": "gal", "total": 120, "total_since": "2026-11-28T13:00:00Z",'
        b' "total_through": "2026-11-28T12:00:00Z"}',
        "impossible count",
    ),
    "below-offset": (b'{"unit": "gal", "total": 5, ' + STAMP + b"}", "impossible"),
}


@pytest.mark.parametrize(("payload", "reason"), BROKEN.values(), ids=list(BROKEN))
def test_a_broken_state_is_refused(payload: bytes, reason: str) -> None:
    """What the bridge never publishes is not taken for a count (offset 100)."""
    with pytest.raises(ValueError, match=reason):
        reading_of(payload, 100.0)


def test_a_lost_meter_takes_back_each_sensor_from_its_retained_state(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The sensor is restored and said so; the hub's state is passed over quietly."""
    meter = lost(tmp_path)
    caplog.clear()
    found = {
        TOPICS.device(SENSOR, "state"): published("gallons", 500.25, 0.0),
        TOPICS.device(HUB, "state"): b'{"device_id": "x", "connected": true}',
    }
    asked: list[Sequence[str]] = []

    def fetch(filters: Sequence[str]) -> Mapping[str, bytes]:
        asked.append(filters)
        return found

    with caplog.at_level(logging.INFO):
        recover(meter, TOPICS, 0.0, fetch)
    assert asked == [["flume/+/state"]]
    assert meter.reading(SENSOR) == Reading(500.25, T0, THROUGH)
    assert meter.reading(HUB) is None
    assert f"recovered the count of {SENSOR}" in caplog.text
    assert "sensor counts recovered from their retained states: 1" in caplog.text
    assert "ERROR" not in [r.levelname for r in caplog.records]
    assert Meter(tmp_path).reading(SENSOR) == Reading(500.25, T0, THROUGH)


def test_a_broker_that_cannot_be_read_leaves_the_count_afresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No broker within the wait: one ERROR, and the service starts counting anew."""
    meter = lost(tmp_path)
    caplog.clear()

    def fetch(filters: Sequence[str]) -> Mapping[str, bytes]:
        raise MqttError("MQTT broker 127.0.0.1:1: connection refused")

    with caplog.at_level(logging.WARNING):
        recover(meter, TOPICS, 0.0, fetch)
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "every count starts afresh" in caplog.text
    assert meter.reading(SENSOR) is None


def test_a_broken_retained_state_is_one_warning_and_no_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Garbage retained on a sensor's state topic: a WARNING, no count."""
    meter = lost(tmp_path)
    caplog.clear()
    found = {TOPICS.device(SENSOR, "state"): b'{"unit": "gal", "total": "many"}'}
    with caplog.at_level(logging.WARNING):
        recover(meter, TOPICS, 0.0, lambda _filters: found)
    assert f"the retained state of {SENSOR} holds no usable total" in caplog.text
    assert meter.reading(SENSOR) is None

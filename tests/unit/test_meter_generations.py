"""The meter's two generations: a damaged file falls back to the previous one."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.meter import METER_FILE, PREVIOUS, Meter, Reading

MINUTE = timedelta(minutes=1)
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DEVICE = "6248148189204194987"
GARBAGE = b"\x00\xffnot a meter file"


def counted(state_dir: Path, *through: int) -> Meter:
    """A meter that saved once per minute in `through`, a gallon a minute."""
    meter = Meter(state_dir)
    meter.begin(DEVICE, T0)
    for minute in through:
        spans = [(T0 + k * MINUTE, 1, 1.0) for k in range(minute)]
        meter.count(DEVICE, spans, T0 + minute * MINUTE)
    return meter


def test_each_save_keeps_the_one_before_as_the_previous_generation(
    tmp_path: Path,
) -> None:
    """After saves through minutes 5 and 9, meter.json.1 holds the count through 5."""
    counted(tmp_path, 5, 9)
    assert Meter(tmp_path).reading(DEVICE) == Reading(9.0, T0, T0 + 9 * MINUTE)
    (tmp_path / METER_FILE).unlink()
    assert Meter(tmp_path).reading(DEVICE) == Reading(5.0, T0, T0 + 5 * MINUTE)


def test_a_damaged_file_resumes_from_the_previous_generation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Garbage over meter.json: one ERROR naming meter.json.1, the count through 5."""
    counted(tmp_path, 5, 9)
    (tmp_path / METER_FILE).write_bytes(GARBAGE)
    with caplog.at_level(logging.WARNING):
        meter = Meter(tmp_path)
    assert meter.reading(DEVICE) == Reading(5.0, T0, T0 + 5 * MINUTE)
    assert not meter.lost
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "resumed from meter.json.1" in caplog.text
    assert (tmp_path / f"{METER_FILE}.corrupt").read_bytes() == GARBAGE


def test_the_first_save_after_a_fallback_keeps_the_good_generation(
    tmp_path: Path,
) -> None:
    """The set-aside file is not rotated in: meter.json.1 stays the good count."""
    counted(tmp_path, 5, 9)
    (tmp_path / METER_FILE).write_bytes(GARBAGE)
    meter = Meter(tmp_path)
    meter.count(
        DEVICE, [(T0 + k * MINUTE, 1, 1.0) for k in range(12)], T0 + 12 * MINUTE
    )
    assert Meter(tmp_path).reading(DEVICE) == Reading(12.0, T0, T0 + 12 * MINUTE)
    (tmp_path / METER_FILE).unlink()
    assert Meter(tmp_path).reading(DEVICE) == Reading(5.0, T0, T0 + 5 * MINUTE)


def test_a_damaged_file_that_cannot_be_moved_is_never_rotated_in(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """meter.json.corrupt is in the way: the good meter.json.1 is not overwritten."""
    counted(tmp_path, 5, 9)
    (tmp_path / METER_FILE).write_bytes(GARBAGE)
    (tmp_path / f"{METER_FILE}.corrupt").mkdir()
    (tmp_path / f"{METER_FILE}.corrupt" / "x").write_text("")
    with caplog.at_level(logging.ERROR):
        meter = Meter(tmp_path)
    assert "could not move it aside" in caplog.text
    meter.count(DEVICE, [(T0 + k * MINUTE, 1, 1.0) for k in range(7)], T0 + 7 * MINUTE)
    assert Meter(tmp_path).reading(DEVICE) == Reading(7.0, T0, T0 + 7 * MINUTE)
    (tmp_path / METER_FILE).unlink()
    assert Meter(tmp_path).reading(DEVICE) == Reading(5.0, T0, T0 + 5 * MINUTE)


def test_both_generations_damaged_is_a_lost_meter(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Garbage over both: one ERROR, an empty meter, and `lost` for the service."""
    counted(tmp_path, 5, 9)
    (tmp_path / METER_FILE).write_bytes(GARBAGE)
    (tmp_path / PREVIOUS).write_bytes(GARBAGE)
    with caplog.at_level(logging.WARNING):
        meter = Meter(tmp_path)
    assert meter.lost
    assert meter.reading(DEVICE) is None
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "meter.json.1 is unreadable too" in caplog.text


def test_no_file_at_all_is_a_first_start_not_a_loss(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An empty STATE_DIR: nothing logged, nothing lost."""
    with caplog.at_level(logging.DEBUG):
        meter = Meter(tmp_path)
    assert not meter.lost
    assert caplog.records == []


def test_a_restored_count_is_taken_once_and_persisted(tmp_path: Path) -> None:
    """restore() fills a device the meter lacks, never one it counts."""
    meter = Meter(tmp_path)
    recovered = Reading(42.5, T0, T0 + 30 * MINUTE)
    assert meter.restore(DEVICE, recovered)
    assert not meter.restore(DEVICE, Reading(1.0, T0, T0))
    assert Meter(tmp_path).reading(DEVICE) == recovered


def test_a_missing_file_resumes_quietly_from_the_previous_generation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Killed between the rotation and the rename: INFO, the count through 5."""
    counted(tmp_path, 5)
    (tmp_path / METER_FILE).rename(tmp_path / PREVIOUS)
    with caplog.at_level(logging.INFO):
        meter = Meter(tmp_path)
    assert meter.reading(DEVICE) == Reading(5.0, T0, T0 + 5 * MINUTE)
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "meter.json is missing; resumed from meter.json.1" in caplog.text


def test_a_missing_file_and_a_damaged_previous_one_are_a_lost_meter(
    tmp_path: Path,
) -> None:
    """No meter.json and garbage in meter.json.1: lost, the service asks the broker."""
    (tmp_path / PREVIOUS).write_bytes(GARBAGE)
    assert Meter(tmp_path).lost

"""When the meter writes meter.json: at once for water, dry minutes in batches."""

from __future__ import annotations

from pathlib import Path

from bridge.meter import METER_FILE, SAVE_DRY, Meter, Reading
from tests.support.statefiles import through_on_disk
from tests.unit.test_meter import DEVICE, MINUTE, T0, at, begun, minutes

DRY_MINUTES = int(SAVE_DRY / MINUTE)


def test_water_is_saved_before_count_returns(tmp_path: Path) -> None:
    """A minute with water is on disk when count() returns: a restart loads it."""
    meter = begun(tmp_path)
    meter.count(DEVICE, minutes(0, 1, gallons=0.5), at(1))
    assert Meter(tmp_path).reading(DEVICE) == Reading(0.5, T0, at(1))


def test_dry_minutes_wait_for_save_dry_minutes(tmp_path: Path) -> None:
    """Dry minutes move `through` in memory only, until SAVE_DRY minutes have passed."""
    meter = begun(tmp_path)
    path = tmp_path / METER_FILE
    before = path.stat()
    meter.count(DEVICE, minutes(0, DRY_MINUTES - 1, gallons=0.0), at(DRY_MINUTES))
    assert meter.reading(DEVICE) == Reading(0.0, T0, at(DRY_MINUTES - 1))
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    meter.count(DEVICE, minutes(0, DRY_MINUTES, gallons=0.0), at(DRY_MINUTES))
    assert through_on_disk(tmp_path / METER_FILE, DEVICE) == at(DRY_MINUTES).isoformat()


def test_a_kill_in_a_dry_spell_counts_the_same_minutes_again(tmp_path: Path) -> None:
    """Killed with dry minutes unsaved: the restart counts them from Flume, once."""
    meter = begun(tmp_path)
    meter.count(DEVICE, minutes(0, 2, gallons=1.0), at(2))
    meter.count(DEVICE, minutes(0, 6, gallons=0.0) + minutes(0, 2), at(6))
    assert meter.reading(DEVICE) == Reading(2.0, T0, at(6))
    assert through_on_disk(tmp_path / METER_FILE, DEVICE) == at(2).isoformat()
    again = Meter(tmp_path)  # no flush: as after a SIGKILL or a power cut
    # Flume now shows water that reached it late in one of those minutes.
    late = minutes(0, 2) + minutes(2, 6, gallons=0.0)[:2] + minutes(4, 5, 0.25)
    late += minutes(5, 6, gallons=0.0)
    assert again.count(DEVICE, late, at(6)) == Reading(2.25, T0, at(6))


def test_flush_saves_the_dry_minutes(tmp_path: Path) -> None:
    """flush() (a clean stop) writes what only moved `through`; nothing when saved."""
    meter = begun(tmp_path)
    meter.count(DEVICE, minutes(0, 3, gallons=0.0), at(3))
    assert through_on_disk(tmp_path / METER_FILE, DEVICE) == T0.isoformat()
    meter.flush()
    assert through_on_disk(tmp_path / METER_FILE, DEVICE) == at(3).isoformat()
    before = (tmp_path / METER_FILE).stat()
    meter.flush()
    assert (tmp_path / METER_FILE).stat().st_ino == before.st_ino

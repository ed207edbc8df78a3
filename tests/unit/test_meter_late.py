"""Late data: water Flume receives after its minute was counted is added once."""

from __future__ import annotations

import json
import logging
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.meter import METER_FILE, Meter, Reading, Span
from bridge.meter.recount import KEEP, hour_of, next_hour
from tests.support.clock import utc

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # on the hour
DEVICE = "6248148189204194987"
LA = "America/Los_Angeles"


def at(minute: int) -> datetime:
    """The instant `minute` minutes after T0."""
    return T0 + minute * MINUTE


def minutes(first: int, last: int, gallons: float = 1.0) -> list[Span]:
    """One-minute spans for minutes first..last-1, each holding `gallons`."""
    return [(at(k), 1, gallons) for k in range(first, last)]


def begun(state_dir: Path, minute: int = 0) -> Meter:
    """A meter that has seen DEVICE at the start of `minute`."""
    meter = Meter(state_dir)
    meter.begin(DEVICE, at(minute))
    return meter


def test_a_late_minute_of_the_hour_in_progress_is_added_once(tmp_path: Path) -> None:
    """Counted as 0, read again as 2.5 gallons: added, and only once."""
    meter = begun(tmp_path)
    meter.count(DEVICE, [*minutes(0, 10), *minutes(10, 20, 0.0)], at(20))
    arrived = [*minutes(0, 10), *minutes(10, 20, 0.25), *minutes(20, 25)]
    assert meter.count(DEVICE, arrived, at(25)) == Reading(17.5, T0, at(25))
    assert meter.count(DEVICE, arrived, at(25)) == Reading(17.5, T0, at(25))
    assert Meter(tmp_path).count(DEVICE, arrived, at(25)).gallons == 17.5


def test_a_late_hour_read_as_an_hr_bucket_is_added_once(tmp_path: Path) -> None:
    """A whole counted hour read again as one HR bucket: the difference is added."""
    meter = begun(tmp_path)
    meter.count(DEVICE, minutes(0, 90, 0.0), at(90))
    recount = [(at(0), 60, 12.0), *minutes(60, 95, 0.0)]
    assert meter.count(DEVICE, recount, at(95)) == Reading(12.0, T0, at(95))
    assert meter.count(DEVICE, recount, at(95)).gallons == 12.0


def test_a_downward_revision_is_ignored_and_logged_at_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An hour that reads less than was counted leaves the total as it was."""
    meter = begun(tmp_path)
    meter.count(DEVICE, minutes(0, 60), at(60))
    with caplog.at_level(logging.DEBUG, logger="bridge.meter.recount"):
        reading = meter.count(DEVICE, [(at(0), 60, 50.0)], at(60))
    assert reading == Reading(60.0, T0, at(60))
    assert [r.levelname for r in caplog.records] == ["DEBUG"]
    assert "down by 10.000000 gallons" in caplog.records[0].getMessage()


def test_an_hour_first_met_in_its_middle_is_never_compared(tmp_path: Path) -> None:
    """Seen first at 12:20: the hour's HR bucket also holds water before `since`."""
    meter = begun(tmp_path, 20)
    meter.count(DEVICE, minutes(20, 61), at(61))
    reading = meter.count(DEVICE, [(at(0), 60, 99.0), *minutes(20, 61)], at(61))
    assert reading == Reading(41.0, at(20), at(61))


def test_the_first_hour_is_compared_minute_by_minute_from_since(
    tmp_path: Path,
) -> None:
    """Seen first at 12:20: its minutes from 12:20 read again still count late water."""
    meter = begun(tmp_path, 20)
    meter.count(DEVICE, minutes(20, 40, 0.0), at(40))
    again = [*minutes(0, 20, 9.0), *minutes(20, 40, 0.5), *minutes(40, 45)]
    assert meter.count(DEVICE, again, at(45)) == Reading(15.0, at(20), at(45))


def test_a_span_across_an_hour_edge_makes_both_hours_unknown(tmp_path: Path) -> None:
    """Thirty minutes from 12:45 cannot be told apart between the two hours."""
    meter = begun(tmp_path)
    meter.count(DEVICE, [*minutes(0, 45), (at(45), 30, 30.0)], at(75))
    later = [(at(0), 60, 99.0), *minutes(60, 75, 9.0)]
    assert meter.count(DEVICE, later, at(75)).gallons == 75.0


def test_conflicting_reads_of_a_minute_revise_nothing(tmp_path: Path) -> None:
    """One minute read with two values in one batch: its hour is left alone."""
    meter = begun(tmp_path)
    meter.count(DEVICE, minutes(0, 10), at(10))
    again = [*minutes(0, 10, 2.0), (at(5), 1, 1.0)]
    assert meter.count(DEVICE, again, at(10)).gallons == 10.0


def test_the_hours_are_kept_small_and_survive_a_restart(tmp_path: Path) -> None:
    """A day and more of minutes keeps KEEP hours of sums in the file, not minutes."""
    meter = begun(tmp_path)
    day = 30 * 60
    meter.count(DEVICE, minutes(0, day, 0.0), at(day))
    document = json.loads((tmp_path / METER_FILE).read_text())
    kept = document["hours"][DEVICE]
    assert len(kept) == KEEP // HOUR
    assert set(kept.values()) == {0.0}
    assert len((tmp_path / METER_FILE).read_bytes()) < 2048
    recount = [(at(day - 120), 60, 5.0), (at(day - 60), 60, 7.0)]
    assert Meter(tmp_path).count(DEVICE, recount, at(day)).gallons == 12.0


def test_an_hour_older_than_keep_is_not_compared(tmp_path: Path) -> None:
    """Hours that the windows no longer read again are forgotten."""
    meter = begun(tmp_path)
    meter.count(DEVICE, minutes(0, 60, 0.0), at(60))
    far = int(KEEP / MINUTE) + 120
    meter.count(DEVICE, [(at(60 + 60 * k), 60, 0.0) for k in range(far // 60)], at(far))
    assert meter.count(DEVICE, [(at(0), 60, 5.0)], at(far)).gallons == 0.0


@pytest.mark.parametrize(
    "hours",
    [
        '"hours"',
        '{"x": 1}',
        '{"2026-11-28T12:00:00+00:00": -1}',
        '{"2026-11-28T12:00:00+00:00": "1"}',
        '{"2026-11-28T12:30:10+00:00": 1}',
        "[]",
    ],
)
def test_damaged_hours_keep_the_count_and_forget_the_hours(
    tmp_path: Path, hours: str
) -> None:
    """Hours that cannot be read are not known: no late water, never twice."""
    meter = begun(tmp_path)
    meter.count(DEVICE, minutes(0, 30), at(30))
    path = tmp_path / METER_FILE
    document = json.loads(path.read_text())
    document["hours"] = {DEVICE: json.loads(hours)}
    path.write_text(json.dumps(document))
    reloaded = Meter(tmp_path)
    assert reloaded.reading(DEVICE) == Reading(30.0, T0, at(30))
    again = [*minutes(0, 30, 2.0), *minutes(30, 40)]
    assert reloaded.count(DEVICE, again, at(40)).gallons == 40.0


def test_a_meter_file_without_hours_loads_and_learns_them(tmp_path: Path) -> None:
    """A file written before the hours: counts as before, compares the next hours."""
    meter = begun(tmp_path)
    meter.count(DEVICE, minutes(0, 30), at(30))
    path = tmp_path / METER_FILE
    document = json.loads(path.read_text())
    del document["hours"]
    path.write_text(json.dumps(document))
    meter = Meter(tmp_path)
    meter.count(DEVICE, minutes(30, 70), at(70))
    again = [*minutes(0, 60, 2.0), *minutes(60, 70, 2.0)]
    assert meter.count(DEVICE, again, at(70)).gallons == 80.0


def test_local_hours_follow_the_zone_and_its_dst(tmp_path: Path) -> None:
    """In Kolkata hours start at :30 UTC; on LA's fall-back day 01:00 comes twice."""
    kolkata = Meter(tmp_path, lag=0)
    kolkata.begin(DEVICE, at(30))
    kolkata.count(DEVICE, minutes(30, 100, 0.0), at(100), "Asia/Kolkata")
    found = kolkata.count(DEVICE, [(at(30), 60, 4.0)], at(100), "Asia/Kolkata")
    assert found.gallons == 4.0
    first = utc(2026, 11, 1, 8, 0, 0)  # 01:00 PDT
    zone = ZoneInfo(LA)
    assert hour_of(first + 90 * MINUTE, zone) == first + HOUR  # 01:30 PST
    assert next_hour(first, zone) == first + HOUR
    assert next_hour(first + HOUR, zone) == first + 2 * HOUR


# --- the property: every minute's final value, exactly once -----------------------

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def visible(truth: list[float], arrival: list[int], batch: int) -> list[float]:
    """What each minute reads in batch `batch`: 0 until its water has arrived."""
    return [g if arrival[k] <= batch else 0.0 for k, g in enumerate(truth)]


def reread(values: list[float], through: int, now: int, start: int) -> list[Span]:
    """What the windows read at minute `now`, as the service asks them.

    Every minute from the hour holding `through`, whole hours before it.
    """
    hour = through - through % 60
    spans: list[Span] = [(at(k), 1, values[k]) for k in range(max(hour, start), now)]
    spans += [(at(h), 60, sum(values[h : h + 60])) for h in range(start, hour, 60)]
    return spans


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[float], list[int], list[int]]:
    """A per-minute truth, each minute's arrival batch, growing horizons."""
    size = draw(st.integers(1, 300))
    sixteenths = st.lists(st.integers(0, 64), min_size=size, max_size=size)
    truth = [n / 16 for n in draw(sixteenths)]
    cycles = draw(st.integers(1, 10))
    horizons = sorted(draw(st.lists(st.integers(0, size), min_size=cycles)))
    arrival = draw(st.lists(st.integers(0, cycles), min_size=size, max_size=size))
    return truth, arrival, horizons[:cycles]


@PROPERTY
@given(scenario=scenarios(), restarts=st.lists(st.booleans(), min_size=10))
def test_every_minute_counts_its_final_value_exactly_once(
    scenario: tuple[list[float], list[int], list[int]], restarts: list[bool]
) -> None:
    """Minutes that arrive cycles late, re-read each cycle, count once, in full.

    The count never falls, never exceeds the truth up to `through`, and a cycle
    after everything arrived reaches it exactly; a restarted meter agrees.
    """
    truth, arrival, horizons = scenario
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        steady, restarted = begun(Path(one)), begun(Path(two))
        last = 0.0
        for batch, horizon in enumerate([*horizons, len(truth)]):
            if restarts[batch % len(restarts)]:
                restarted = Meter(Path(two))
            values = visible(truth, arrival, batch)
            through = (steady.reading(DEVICE) or Reading(0, T0, T0)).through
            spans = reread(values, (through - T0) // MINUTE, horizon, 0)
            reading = steady.count(DEVICE, spans, at(horizon))
            assert restarted.count(DEVICE, spans, at(horizon)) == reading
            counted = (reading.through - T0) // MINUTE
            assert last <= reading.gallons <= sum(truth[:counted])
            last = reading.gallons
    assert reading.through == at(len(truth))
    assert reading.gallons == sum(truth)

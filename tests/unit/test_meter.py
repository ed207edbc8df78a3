"""The lifetime counter: exactly-once minutes, horizon, persistence, corrupt files."""

from __future__ import annotations

import json
import logging
import math
import shutil
import stat
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.errors import FlumeProtocolError
from bridge.meter import LAG_MINUTES, METER_FILE, Meter, Reading, Span

MINUTE = timedelta(minutes=1)
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DEVICE = "6248148189204194987"


def at(minute: int) -> datetime:
    """The instant `minute` minutes after T0."""
    return T0 + minute * MINUTE


def minutes(first: int, last: int, gallons: float = 1.0) -> list[Span]:
    """One-minute spans for minutes first..last-1, each holding `gallons`."""
    return [(at(k), 1, gallons) for k in range(first, last)]


def begun(state_dir: Path) -> Meter:
    """A meter that has seen DEVICE at T0 (plus 20 seconds)."""
    meter = Meter(state_dir)
    meter.begin(DEVICE, T0 + timedelta(seconds=20))
    return meter


def test_first_sight_starts_an_empty_count_at_the_minute(tmp_path: Path) -> None:
    """begin() floors to the minute; a second begin() keeps the existing count."""
    meter = Meter(tmp_path)
    assert meter.reading(DEVICE) is None
    first = meter.begin(DEVICE, T0 + timedelta(seconds=59, microseconds=1))
    assert first == Reading(0.0, T0, T0)
    meter.count(DEVICE, minutes(0, 2), at(5))
    assert meter.begin(DEVICE, at(30)) == Reading(2.0, T0, at(2))
    assert Meter(tmp_path).reading(DEVICE) == Reading(2.0, T0, at(2))


def test_the_horizon_is_lag_minutes_before_the_current_minute(tmp_path: Path) -> None:
    """At 12:34:xx the newest minute that counts ends at 12:31 (LAG_MINUTES = 3)."""
    assert LAG_MINUTES == 3
    end = datetime(2026, 11, 28, 12, 34, 10, tzinfo=UTC)
    assert Meter(tmp_path).horizon(end) == datetime(2026, 11, 28, 12, 31, tzinfo=UTC)
    assert Meter(tmp_path, lag=0).horizon(end) == end.replace(second=0)


def test_contiguous_spans_in_any_order_are_added(tmp_path: Path) -> None:
    """Minute and hour spans, shuffled, continue the count as far as they reach."""
    meter = begun(tmp_path)
    spans = [*reversed(minutes(60, 70, 0.5)), (at(0), 60, 30.0)]
    assert meter.count(DEVICE, spans, at(100)) == Reading(35.0, T0, at(70))


def test_spans_already_counted_are_skipped(tmp_path: Path) -> None:
    """Reading the same minutes again, or an hour over counted minutes, adds nothing."""
    meter = begun(tmp_path)
    meter.count(DEVICE, minutes(0, 10), at(10))
    again = [*minutes(0, 12), (at(0), 60, 99.0), (at(5), 1, 99.0)]
    assert meter.count(DEVICE, again, at(12)) == Reading(12.0, T0, at(12))


def test_the_count_stops_at_a_gap(tmp_path: Path) -> None:
    """A missing minute ends the count; what follows it waits for a later cycle."""
    meter = begun(tmp_path)
    spans = minutes(0, 5) + minutes(6, 10)
    assert meter.count(DEVICE, spans, at(10)).through == at(5)
    assert meter.count(DEVICE, minutes(5, 10), at(10)) == Reading(10.0, T0, at(10))


def test_nothing_past_the_horizon_counts(tmp_path: Path) -> None:
    """A span ending after the horizon waits, even when a later one would fit."""
    meter = begun(tmp_path)
    assert meter.count(DEVICE, [(at(0), 60, 5.0)], at(59)).through == T0
    found = meter.count(DEVICE, [(at(0), 60, 5.0), *minutes(0, 59)], at(59))
    assert found == Reading(59.0, T0, at(59))
    assert meter.count(DEVICE, minutes(59, 70), at(58)).through == at(59)


def test_a_shorter_path_wins_when_it_reaches_further(tmp_path: Path) -> None:
    """Of two ways through overlapping spans, the count follows the longer one."""
    meter = begun(tmp_path)
    spans = [(at(0), 30, 3.0), (at(0), 10, 1.0), (at(10), 30, 3.0)]
    assert meter.count(DEVICE, spans, at(60)) == Reading(4.0, T0, at(40))


def test_a_count_survives_a_restart_and_the_file_is_private(tmp_path: Path) -> None:
    """What count() returned is on disk (0600) before it returns, for every device."""
    meter = begun(tmp_path / "state")
    meter.begin("other", at(3))
    reading = meter.count(DEVICE, minutes(0, 7, 0.1), at(7))
    path = tmp_path / "state" / METER_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reloaded = Meter(tmp_path / "state")
    assert reloaded.reading(DEVICE) == reading
    assert reloaded.reading("other") == Reading(0.0, at(3), at(3))
    document = json.loads(path.read_text())
    assert document["format"] == 1
    assert document["devices"][DEVICE] == {
        "since": T0.isoformat(),
        "through": at(7).isoformat(),
        "gallons": reading.gallons,
    }


def test_a_count_that_does_not_advance_writes_nothing(tmp_path: Path) -> None:
    """No new minute, no write: the file keeps its inode and time."""
    meter = begun(tmp_path)
    before = (tmp_path / METER_FILE).stat()
    meter.count(DEVICE, minutes(0, 5), at(0))
    after = (tmp_path / METER_FILE).stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


@pytest.mark.parametrize("gallons", [-0.1, math.nan, math.inf])
def test_impossible_gallons_are_a_protocol_error_and_count_nothing(
    tmp_path: Path, gallons: float
) -> None:
    """One bad bucket rejects the whole batch; the count stays where it was."""
    meter = begun(tmp_path)
    with pytest.raises(FlumeProtocolError, match="gallons"):
        meter.count(DEVICE, [*minutes(0, 5), (at(5), 1, gallons)], at(10))
    assert meter.reading(DEVICE) == Reading(0.0, T0, T0)
    assert Meter(tmp_path).reading(DEVICE) == Reading(0.0, T0, T0)


def test_programming_errors_are_value_errors(tmp_path: Path) -> None:
    """Counting an unknown device, an empty span or a naive time is refused."""
    meter = begun(tmp_path)
    with pytest.raises(ValueError, match="begin"):
        meter.count("unknown", minutes(0, 1), at(5))
    with pytest.raises(ValueError, match="0 minutes"):
        meter.count(DEVICE, [(at(0), 0, 1.0)], at(5))
    with pytest.raises(ValueError, match="aware"):
        meter.begin("new", datetime(2026, 1, 1))  # noqa: DTZ001 (the point)


CORRUPT = {
    "broken": b'{"format": 1, "dev',
    "binary": b"\xff\xfe\x00",
    "empty": b"",
    "list": b"[]",
    "other-format": b'{"format": 2, "devices": {}}',
    "no-devices": b'{"format": 1}',
    "entry": b'{"format": 1, "devices": {"d": 3}}',
    "naive": b'{"format": 1, "devices": {"d": {"since": "2026-01-01T00:00:00",'
    b' "through": "2026-01-01T00:00:00", "gallons": 1}}}',
    "mid-minute": b'{"format": 1, "devices": {"d": {"since": "2026-01-01T00:00:00Z",'
    b' "through": "2026-01-01T00:00:30Z", "gallons": 1}}}',
    "reversed": b'{"format": 1, "devices": {"d": {"since": "2026-01-01T00:01:00Z",'
    b' "through": "2026-01-01T00:00:00Z", "gallons": 1}}}',
    "negative": b'{"format": 1, "devices": {"d": {"since": "2026-01-01T00:00:00Z",'
    b' "through": "2026-01-01T00:00:00Z", "gallons": -1}}}',
    "nan": b'{"format": 1, "devices": {"d": {"since": "2026-01-01T00:00:00Z",'
    b' "through": "2026-01-01T00:00:00Z", "gallons": NaN}}}',
    "huge": b'{"format": 1, "devices": {"d": {"since": "2026-01-01T00:00:00Z",'
    b' "through": "2026-01-01T00:00:00Z", "gallons": 1' + b"0" * 400 + b"}}}",
    "bool": b'{"format": 1, "devices": {"d": {"since": "2026-01-01T00:00:00Z",'
    b' "through": "2026-01-01T00:00:00Z", "gallons": true}}}',
    "time-type": b'{"format": 1, "devices": {"d": {"since": 5,'
    b' "through": "2026-01-01T00:00:00Z", "gallons": 1}}}',
    "deep": b"[" * 100_000,
}


@pytest.mark.parametrize("content", list(CORRUPT.values()), ids=list(CORRUPT))
def test_a_corrupt_file_is_kept_aside_and_the_count_starts_afresh(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """One ERROR line, the file renamed to meter.json.corrupt, an empty meter."""
    (tmp_path / METER_FILE).write_bytes(content)
    with caplog.at_level(logging.ERROR):
        meter = Meter(tmp_path)
    assert meter.reading("d") is None
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "kept it as meter.json.corrupt" in caplog.text
    assert (tmp_path / "meter.json.corrupt").read_bytes() == content
    meter.begin(DEVICE, T0)
    assert Meter(tmp_path).reading(DEVICE) == Reading(0.0, T0, T0)


def test_an_unreadable_file_that_cannot_be_moved_is_still_no_crash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """meter.json is a directory and a full .corrupt one blocks it: ERROR, go on."""
    (tmp_path / METER_FILE).mkdir()
    (tmp_path / "meter.json.corrupt").mkdir()
    (tmp_path / "meter.json.corrupt" / "x").write_text("")
    with caplog.at_level(logging.ERROR):
        meter = Meter(tmp_path)
    assert "could not move it aside" in caplog.text
    assert len(caplog.records) == 1
    assert meter.begin(DEVICE, T0) == Reading(0.0, T0, T0)


def test_leftover_temp_files_are_removed(tmp_path: Path) -> None:
    """Temp files of a writer killed before its rename go; the meter file stays."""
    begun(tmp_path)
    (tmp_path / ".meter.abc123.tmp").write_text("half")
    assert Meter(tmp_path).reading(DEVICE) == Reading(0.0, T0, T0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [METER_FILE]


def test_an_unwritable_state_dir_warns_once_and_counts_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Saving fails (a file where the directory was): WARNING, then DEBUG, then INFO."""
    state = tmp_path / "state"
    meter = begun(state)
    shutil.rmtree(state)
    state.write_text("in the way")
    with caplog.at_level(logging.DEBUG, logger="bridge.meter"):
        assert meter.count(DEVICE, minutes(0, 5), at(5)).through == at(5)
        assert meter.count(DEVICE, minutes(5, 9), at(9)) == Reading(9.0, T0, at(9))
        state.unlink()
        meter.count(DEVICE, minutes(9, 10), at(10))
    levels = [r.levelname for r in caplog.records]
    assert levels == ["WARNING", "DEBUG", "INFO"]
    assert "counting on in memory" in caplog.records[0].getMessage()
    assert Meter(state).reading(DEVICE) == Reading(10.0, T0, at(10))


def test_a_state_dir_under_a_file_loads_as_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A STATE_DIR that cannot exist holds no meter file: no ERROR, nothing moved."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with caplog.at_level(logging.WARNING):
        meter = Meter(blocker / "state")
        assert meter.begin(DEVICE, T0) == Reading(0.0, T0, T0)
    assert [r.levelname for r in caplog.records] == ["WARNING"]


# --- the property: exactly once, whatever the batches ---------------------------------

PROPERTY = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
LENGTHS = (1, 1, 1, 2, 5, 30, 60)  # minute buckets mostly, some groups


@st.composite
def runs(draw: st.DrawFn, truth: list[float], first: int, last: int) -> list[Span]:
    """Spans tiling minutes first..last-1 in pieces of random lengths."""
    spans = []
    while first < last:
        length = min(draw(st.sampled_from(LENGTHS)), last - first)
        spans.append((at(first), length, sum(truth[first : first + length])))
        first += length
    return spans


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[list[float], list[tuple[list[Span], int, bool]], int]:
    """A per-minute truth, batches of spans with growing horizons, a final horizon.

    A batch is a few runs of contiguous spans (as cycles re-read the recent past)
    and loose spans anywhere. Gallons are multiples of 1/16, so every sum is exact.
    """
    size = draw(st.integers(1, 150))
    sixteenths = st.lists(st.integers(0, 64), min_size=size, max_size=size)
    truth = [n / 16 for n in draw(sixteenths)]
    batches = []
    horizon = 0
    for _ in range(draw(st.integers(0, 8))):
        horizon = draw(st.integers(horizon, size))
        spans = []
        for _ in range(draw(st.integers(0, 3))):
            first = draw(st.integers(0, size))
            spans += draw(runs(truth, first, draw(st.integers(first, size))))
        spans += draw(runs(truth, 0, size).flatmap(st.permutations))[
            : draw(st.integers(0, 10))
        ]
        batches.append((draw(st.permutations(spans)), horizon, draw(st.booleans())))
    return truth, batches, draw(st.integers(horizon, size))


def truth_through(truth: list[float], through: datetime) -> float:
    return sum(truth[: (through - T0) // MINUTE])


@PROPERTY
@given(scenario=scenarios())
def test_any_batches_count_every_minute_exactly_once(
    scenario: tuple[list[float], list[tuple[list[Span], int, bool]], int],
) -> None:
    """Overlapping, repeated, shuffled batches count the truth up to `through`, once.

    A meter restarted between batches (a new Meter on the same directory) reads
    exactly like one that ran on; `through` never passes a horizon nor goes back,
    and a last batch that covers everything reaches the final horizon.
    """
    truth, batches, final = scenario
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        steady, restarted = begun(Path(one)), begun(Path(two))
        last = steady.reading(DEVICE)
        for spans, horizon, restart in batches:
            if restart:
                restarted = Meter(Path(two))
            reading = steady.count(DEVICE, spans, at(horizon))
            assert restarted.count(DEVICE, spans, at(horizon)) == reading
            assert last is not None
            assert last.through <= reading.through <= max(at(horizon), last.through)
            assert reading.gallons == truth_through(truth, reading.through)
            last = reading
        covering = minutes(0, len(truth))
        covering = [(start, 1, truth[k]) for k, (start, _, _) in enumerate(covering)]
        reading = Meter(Path(two)).count(DEVICE, covering[::-1], at(final))
    assert reading.through == at(final)
    assert reading.gallons == sum(truth[:final])

"""The request record in STATE_DIR: one hour's budget across processes and restarts."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import FlumeRateLimitError
from bridge.flume import record
from bridge.flume.budget import HOUR, RequestBudget
from bridge.flume.planner import plan
from bridge.flume.record import (
    FLUME_HOUR,
    LEASE,
    RECORD_FILE,
    RequestRecord,
    boot_id,
)
from tests.support.clock import FakeClock
from tests.unit.test_flume_budget_week import busiest_hour, run_week

WALL = 1_800_000_000.0  # the wall clock when the monotonic one reads START
START = 1000.0


class Clocks:
    """One machine's clocks: monotonic (the budget's) and wall, with its boot id."""

    def __init__(self, boot: str = "boot-a", mono: float = START) -> None:
        self.mono = FakeClock(mono)
        self.step = 0.0  # how far the wall clock was stepped
        self.boot = boot
        self._wall_at_start = WALL - START + mono

    def wall(self) -> float:
        """Wall time: in step with the monotonic clock, plus any step."""
        return self._wall_at_start + (self.mono.now - START) + self.step

    def advance(self, seconds: float) -> None:
        """Let time pass on both clocks."""
        self.mono.now += seconds


def budget(
    state_dir: Path, clocks: Clocks, per_hour: int = 5, reserve: int = 0
) -> RequestBudget:
    """A process's budget on `clocks`, sharing the record in `state_dir`."""
    shared = RequestRecord(state_dir, wall=clocks.wall, boot=lambda: clocks.boot)
    return RequestBudget(per_hour, now=clocks.mono, reserve=reserve, record=shared)


def spend(budget: RequestBudget, clocks: Clocks, count: int, every: float) -> None:
    """`count` requests, `every` seconds apart."""
    for _ in range(count):
        budget.acquire()
        clocks.advance(every)


def refusal(budget: RequestBudget) -> FlumeRateLimitError:
    with pytest.raises(FlumeRateLimitError) as caught:
        budget.acquire()
    return caught.value


def document(state_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((state_dir / RECORD_FILE).read_text())
    return loaded


def entries(state_dir: Path) -> list[float]:
    """Every stamp in the record, of any owner."""
    requests = document(state_dir)["requests"].values()
    return sorted(stamp for stamps in requests for stamp in stamps)


def test_a_start_after_a_sigkill_counts_the_requests_it_sent(tmp_path: Path) -> None:
    """A process that dies without a word still holds its hour against the next one."""
    clocks = Clocks()
    spend(budget(tmp_path, clocks), clocks, 5, every=10)  # then gone, as by SIGKILL
    restarted = budget(tmp_path, clocks)
    assert restarted.used() == 5
    assert refusal(restarted).retry_after == pytest.approx(HOUR - 50)
    clocks.advance(HOUR - 50)
    restarted.acquire()  # the first request is an hour old
    assert refusal(restarted).retry_after == pytest.approx(10)


def test_slots_taken_ahead_count_until_given_back_on_a_clean_stop(
    tmp_path: Path,
) -> None:
    """Unused slots a running process holds are spent for others until it stops."""
    clocks = Clocks()
    first = budget(tmp_path, clocks)
    first.acquire()
    assert entries(tmp_path) == [START + LEASE] * 4  # taken ahead, before it went
    other = budget(tmp_path, clocks)
    assert other.available_in() == 0  # one slot of five is still free
    first.release()
    assert entries(tmp_path) == [START]  # the one sent, at its real time
    assert other.available_in(room=4) == 0
    spend(other, clocks, 4, every=1)
    assert refusal(other).retry_after == pytest.approx(HOUR - 4)


def test_a_request_after_a_lease_ran_out_is_on_record_before_it_goes(
    tmp_path: Path,
) -> None:
    """Slots not used within their lease are gone; the next request takes new ones."""
    clocks = Clocks()
    service = budget(tmp_path, clocks)
    service.acquire()
    clocks.advance(LEASE + 1)
    service.acquire()
    assert entries(tmp_path) == [START, *[START + 2 * LEASE + 1] * 4]


def test_a_refused_request_looks_at_the_record_again(tmp_path: Path) -> None:
    """Slots another process gave back are free at once, not after its lease."""
    clocks = Clocks()
    check, service = budget(tmp_path, clocks), budget(tmp_path, clocks)
    check.acquire()  # and holds three more
    service.acquire()
    refusal(service)
    check.release()
    spend(service, clocks, 3, every=1)
    assert refusal(service).retry_after == pytest.approx(HOUR - 3)


def test_a_check_beside_the_service_never_takes_the_same_slot(tmp_path: Path) -> None:
    """Two live processes on one STATE_DIR together stay within the budget."""
    clocks = Clocks()
    service, check = budget(tmp_path, clocks, 10), budget(tmp_path, clocks, 10)
    granted = 0
    for turn in range(40):
        try:
            (service if turn % 3 else check).acquire()
        except FlumeRateLimitError:
            continue
        granted += 1
        clocks.advance(5)
    assert granted <= 10
    service.release()
    check.release()
    assert len(entries(tmp_path)) == granted  # none lost, none counted twice


@pytest.mark.parametrize("step", [6 * HOUR, -2 * HOUR])
def test_a_wall_clock_step_neither_frees_nor_blocks_the_hour(
    tmp_path: Path, step: float
) -> None:
    """On one boot the record goes by the monotonic clock, whatever the wall says."""
    clocks = Clocks()
    spend(budget(tmp_path, clocks), clocks, 5, every=60)
    clocks.step = step
    restarted = budget(tmp_path, clocks)
    assert refusal(restarted).retry_after == pytest.approx(HOUR - 300)
    clocks.advance(HOUR - 300)
    restarted.acquire()


def test_after_a_reboot_the_stamps_go_by_the_wall_clock(tmp_path: Path) -> None:
    """A new boot restarts the monotonic clock: the wall clock tells the age."""
    before = Clocks()
    spend(budget(tmp_path, before), before, 5, every=60)  # the last at WALL + 240
    after = Clocks(boot="boot-b", mono=5.0)  # booted again, 10 min after the first
    after.step = 600 - (after.wall() - WALL)
    assert refusal(budget(tmp_path, after)).retry_after == pytest.approx(HOUR - 600)


@pytest.mark.parametrize("boot", ["boot-b", ""])
def test_stamps_from_the_future_count_as_sent_just_now(
    tmp_path: Path, boot: str
) -> None:
    """A clock that went back at a reboot (fake-hwclock) cannot free the hour early."""
    before = Clocks()
    spend(budget(tmp_path, before), before, 5, every=60)
    after = Clocks(boot=boot, mono=5.0)
    after.step = -2 * HOUR  # the wall clock reads two hours earlier than before
    restarted = budget(tmp_path, after)
    assert refusal(restarted).retry_after == pytest.approx(HOUR)


GARBAGE = {
    "bytes": b"\x00\xff\xfe not json",
    "truncated": b'{"format":1,"boot_id":"boot-a","monotonic":1000.0,"wall":',
    "another format": b'{"format":2,"requests":{}}',
    "a list": b"[1, 2, 3]",
    "not a number": (
        b'{"format":1,"boot_id":"b","monotonic":1,"wall":1,"requests":{"x":["1"]}}'
    ),
    "infinite": (
        b'{"format":1,"boot_id":"b","monotonic":1,"wall":1,"requests":{"x":[1e999]}}'
    ),
    "too large": b" " * 70_000,
}


@pytest.mark.parametrize("garbage", GARBAGE.values(), ids=GARBAGE.keys())
def test_a_damaged_record_counts_a_whole_hour_spent_with_one_warning(
    tmp_path: Path, garbage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Damage hides the hour before it: nothing goes for an hour, then all is well."""
    (tmp_path / RECORD_FILE).write_bytes(garbage)
    clocks = Clocks()
    with caplog.at_level(logging.WARNING, "bridge.flume"):
        damaged = budget(tmp_path, clocks)
        for minute in range(3):
            assert refusal(damaged).retry_after == pytest.approx(HOUR - 60 * minute)
            clocks.advance(60)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings
    assert "unreadable" in warnings[0]
    assert "no Flume request goes for an hour" in warnings[0]
    assert entries(tmp_path) == [START] * FLUME_HOUR  # written afresh, with that hour
    clocks.advance(HOUR - 180)
    spend(damaged, clocks, 5, every=1)


def test_the_record_keeps_only_the_last_hour_bounded_and_private(
    tmp_path: Path,
) -> None:
    """After hours at Flume's limit the file holds the last hour only, 0600."""
    clocks = Clocks()
    busy = budget(tmp_path, clocks, per_hour=120)
    for _ in range(3 * 120):
        busy.available_in()
        busy.acquire()
        clocks.advance(HOUR / 120)
    stamps = entries(tmp_path)
    assert len(stamps) <= FLUME_HOUR
    assert min(stamps) > document(tmp_path)["monotonic"] - HOUR  # at the write
    path = tmp_path / RECORD_FILE
    assert path.stat().st_size < 2500
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_unwritable_state_dir_leaves_the_budget_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No STATE_DIR to write: the process still keeps its hour, with one warning."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    clocks = Clocks()
    with caplog.at_level(logging.WARNING, "bridge.flume"):
        alone = budget(blocker / "state", clocks)
        spend(alone, clocks, 5, every=1)
        assert refusal(alone).retry_after == pytest.approx(HOUR - 5)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings
    assert "could not write the Flume request record" in warnings[0]


class CountingRecord(RequestRecord):
    """The record, counting its writes (the SD card's wear)."""

    writes = 0

    def save(self, now: float, mine: Any) -> None:
        """Write, and count the write."""
        super().save(now, mine)
        self.writes += 1


def test_a_planned_day_writes_the_record_about_every_three_minutes(
    tmp_path: Path,
) -> None:
    """One sensor at 100 requests an hour: never refused, a write per 3 requests."""
    hours = 24
    clocks = Clocks(mono=0.0)
    counted = CountingRecord(tmp_path, wall=clocks.wall, boot=lambda: clocks.boot)
    day = run_week(plan(100, 1), 3, [], record=counted, until=hours * HOUR)
    assert day.refused == {}
    assert busiest_hour(day.sent) <= 100
    per_hour = counted.writes / hours
    assert per_hour <= 30, per_hour  # 21.5 on 2026-12-02
    assert len(day.sent) / counted.writes >= 3  # 4.0 on 2026-12-02


def test_a_directory_in_place_of_the_record_is_damage_that_cannot_be_mended(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Unreadable and unwritable: an hour spent, a warning for each, no crash."""
    (tmp_path / RECORD_FILE).mkdir()
    clocks = Clocks()
    with caplog.at_level(logging.WARNING, "bridge.flume"):
        stuck = budget(tmp_path, clocks)
        assert refusal(stuck).retry_after == pytest.approx(HOUR)
        stuck.release()
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2, warnings
    assert "is unreadable (Is a directory)" in warnings[0]
    assert "could not write the Flume request record" in warnings[1]


def test_a_state_dir_that_comes_back_is_written_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Once STATE_DIR can be made, the record is written again, and the log says so."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    clocks = Clocks()
    returning = budget(blocker / "state", clocks)
    spend(returning, clocks, 4, every=1)  # in memory: every slot taken in turn
    blocker.unlink()
    with caplog.at_level(logging.INFO, "bridge.flume"):
        returning.acquire()
    assert "is written again" in caplog.text
    # The four sent while unrecorded, and the one slot left, ahead of its request.
    assert entries(blocker / "state") == [*(START + n for n in range(4)), 1004 + LEASE]


def test_release_writes_only_when_slots_were_taken_ahead(tmp_path: Path) -> None:
    """A stop after no request, or with STATE_DIR gone, writes nothing and is quiet."""
    clocks = Clocks()
    budget(tmp_path, clocks).release()
    RequestBudget(5).release()  # no record at all
    assert not (tmp_path / RECORD_FILE).exists()
    gone = budget(tmp_path / "state", clocks)
    gone.acquire()
    (tmp_path / "state" / RECORD_FILE).unlink()
    (tmp_path / "state" / "flume-requests.lock").unlink()
    (tmp_path / "state").rmdir()
    (tmp_path / "state").write_text("")  # STATE_DIR is now a file
    gone.release()


def test_the_boot_id_is_the_kernels_or_empty(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Linux names each boot; without a name the record goes by the wall clock."""
    assert len(boot_id()) == 36
    monkeypatch.setattr(record, "BOOT_ID", tmp_path / "none")
    assert boot_id() == ""

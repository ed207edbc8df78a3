"""The request record in STATE_DIR: the last hour's Flume requests of every process.

`flume-requests.json` (0600, replaced atomically) holds, per process (a random owner
key per budget), the stamps of its requests of the last hour, so that restarts, SIGKILLs
and the `check` and `discovery` commands share one budget. Readers and writers take an
exclusive flock of `flume-requests.lock` first, so concurrent processes neither lose nor
double-count an entry.

Stamps are seconds of the monotonic clock, which every process of one boot shares
(CLOCK_MONOTONIC), tagged with the boot id: a step of the wall clock frees or blocks
nothing. After a reboot the monotonic clock starts again, so stamps convert through the
wall clock of the last write; one that lands in the future (the clock went back, or a Pi
booted with fake-hwclock's time) counts as sent just now.

A damaged or unreadable record says nothing of the hour before it, so Flume's whole
hour (120 requests) counts as sent at the moment the damage was found: an hour without
requests, never one over the budget. The record is then written afresh with that hour.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError

from bridge.flume.schema import StoredRecord
from bridge.statefile import remove_leftovers, temp_prefix, write_atomic

log = logging.getLogger(__name__)

RECORD_FILE = "flume-requests.json"
LOCK_FILE = "flume-requests.lock"
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
HOUR = 3600.0
FLUME_HOUR = 120  # Flume's own limit: no budget needs more entries than these
# A process may stamp slots it is about to use at most this far ahead (RequestBudget).
LEASE = 180.0
MAX_BYTES = 64 * 1024  # 120 entries take about 2 KiB; more is not a record of ours
DAMAGED = "damaged"  # the owner of the hour assumed spent after damage

Stamps = dict[str, list[float]]


def boot_id() -> str:
    """This boot's id, or "" where there is none (then stamps go by the wall clock)."""
    try:
        return BOOT_ID.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""


class RequestRecord:
    """The record file, seen by one process: the others' requests, and its own saved."""

    def __init__(
        self,
        state_dir: Path,
        *,
        wall: Callable[[], float] = time.time,
        boot: Callable[[], str] = boot_id,
    ) -> None:
        self.path = state_dir / RECORD_FILE
        self.owner = secrets.token_hex(8)  # a pid repeats (containers); this does not
        self._lock_path = state_dir / LOCK_FILE
        self._wall = wall
        self._boot = boot()
        self._others: Stamps = {}
        self._damaged: float | None = None  # when the current damage was found
        self._tidy = True

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the record's lock: no other process reads or writes it meanwhile.

        Raises:
            OSError: STATE_DIR or the lock file could not be made or locked.
        """
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released by close, or by the kernel
            if self._tidy:
                # Under the lock no writer is midway: a temp file is a dead one's.
                remove_leftovers(self.path.parent, temp_prefix(self.path))
                self._tidy = False
            yield
        finally:
            os.close(fd)

    def load(self, now: float) -> list[float]:
        """The other processes' requests of the last hour, oldest first.

        On the caller's monotonic clock; slots stamped ahead (a lease) count too.
        Take the lock first unless it is only a look.
        """
        self._others = {
            owner: stamps
            for owner, stamps in self._read(now).items()
            if owner != self.owner and stamps
        }
        return sorted(stamp for stamps in self._others.values() for stamp in stamps)

    @property
    def damaged(self) -> bool:
        """Whether the last load found the file damaged (until it is read whole)."""
        return self._damaged is not None

    def save(self, now: float, mine: Iterable[float]) -> None:
        """Write the others' requests of the last load and `mine` (lock held).

        Raises:
            OSError: the file could not be written; it is unchanged.
        """
        requests = _newest({**self._others, self.owner: list(mine)}, now)
        document = {
            "format": 1,
            "boot_id": self._boot,
            "monotonic": now,
            "wall": self._wall(),
            "requests": {
                owner: [_later(stamp) for stamp in stamps]
                for owner, stamps in requests.items()
            },
        }
        write_atomic(self.path, json.dumps(document, separators=(",", ":")).encode())

    def _read(self, now: float) -> Stamps:
        try:
            with self.path.open("rb") as file:
                data = file.read(MAX_BYTES + 1)
        except (FileNotFoundError, NotADirectoryError):
            self._damaged = None  # no record, and none could have been written there
            return {}
        except OSError as error:
            return self._damage(now, error.strerror or type(error).__name__)
        if len(data) > MAX_BYTES:
            return self._damage(now, f"more than {MAX_BYTES} bytes")
        try:
            stored = StoredRecord.model_validate_json(data)
        except ValidationError:
            return self._damage(now, "not a request record")
        self._damaged = None
        return _newest(self._converted(stored, now), now)

    def _converted(self, stored: StoredRecord, now: float) -> Stamps:
        """The stored stamps on this process's clock; none later than a lease."""
        same_boot = bool(self._boot) and stored.boot_id == self._boot
        if same_boot:
            shift, latest = 0.0, now + LEASE
        else:
            # The writer's wall clock minus ours, each against its monotonic clock.
            shift = (stored.wall - stored.monotonic) - (self._wall() - now)
            latest = now
        return {
            owner: [min(stamp + shift, latest) for stamp in stamps]
            for owner, stamps in stored.requests.items()
        }

    def _damage(self, now: float, why: str) -> Stamps:
        if self._damaged is None:
            self._damaged = now
            log.warning(
                "the Flume request record %s is unreadable (%s): counting the hour "
                "as spent (%d requests), so no Flume request goes for an hour; the "
                "record is written afresh",
                self.path,
                why,
                FLUME_HOUR,
            )
        return {DAMAGED: [self._damaged] * FLUME_HOUR}


def _newest(requests: Mapping[str, Iterable[float]], now: float) -> Stamps:
    """The newest FLUME_HOUR stamps of the hour before `now`, still by owner.

    The rolling-hour check never looks further back than the newest `per_hour`.
    """
    pairs = sorted(
        ((stamp, owner) for owner, stamps in requests.items() for stamp in stamps),
        reverse=True,
    )
    kept: Stamps = {}
    for stamp, owner in pairs[:FLUME_HOUR]:
        if stamp > now - HOUR:
            kept.setdefault(owner, []).insert(0, stamp)
    return kept


def _later(stamp: float) -> float:
    # Rounded up to 10 ms: a stamp may move later (stricter), never earlier.
    return math.ceil(stamp * 100) / 100

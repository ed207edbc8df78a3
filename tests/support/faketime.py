"""libfaketime for one child process: its host clock moved, its monotonic clock not."""

from __future__ import annotations

from pathlib import Path

from tests.support.programs import require

# Debian puts the library under the multiarch directory (x86_64-linux-gnu, aarch64 ...).
PATTERNS = (
    "/usr/lib/*/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
)


def find_libfaketime() -> str | None:
    """The preload library of the Debian `faketime` package, if installed."""
    root = Path("/")
    found = (p for pattern in PATTERNS for p in sorted(root.glob(pattern[1:])))
    return next((str(path) for path in found), None)


def libfaketime() -> str:
    """The library's path; without it skip the test, or fail it under CI."""
    return require(find_libfaketime(), "faketime")


def _preload() -> dict[str, str]:
    # The monotonic clock stays true, as the kernel's does when the wall clock is
    # set. libfaketime 0.9.10 then breaks Python's time.sleep (EINVAL from
    # clock_nanosleep with TIMER_ABSTIME, libfaketime issue #426): the bridge must
    # not sleep in its run (it waits on events and sockets), and neither does paho
    # while the broker stays up.
    return {"LD_PRELOAD": libfaketime(), "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def offset_spec(seconds: float) -> str:
    """The FAKETIME spelling of a host clock `seconds` off the true time."""
    return f"{round(seconds):+d}"


def shifted(seconds: float) -> dict[str, str]:
    """The environment of a process whose host clock is `seconds` off from its start."""
    return _preload() | {"FAKETIME": offset_spec(seconds)}


class SteppedHostClock:
    """A host clock set while the process runs: FAKETIME_TIMESTAMP_FILE, not cached."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.step_to(0)

    def env(self) -> dict[str, str]:
        """The environment of a process that follows this clock."""
        return _preload() | {
            "FAKETIME_TIMESTAMP_FILE": str(self.path),
            "FAKETIME_NO_CACHE": "1",
        }

    def step_to(self, seconds: float) -> None:
        """Set the host clock `seconds` off the true time, at once."""
        # Renamed into place: the process reads the file at every clock call and
        # must never see it half written.
        spare = self.path.with_suffix(".new")
        spare.write_text(offset_spec(seconds) + "\n", encoding="ascii")
        spare.replace(self.path)

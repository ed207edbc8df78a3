"""How the simulator reads Flume: headers, limits and readings, changeable live.

The defaults are our reading of the documentation (flume-api.md §3.2, §5). The other
choices reproduce what other clients report of the real service, so a client can be
tested against both: rate-limit headers or none (§5.1: seen by one client, unverified
for personal clients), another client spending the account's budget (§5.1), a server
that ignores `group_multiplier` or always answers newest first, and limits of ten
queries per request and 24 hours per MIN window (§5.3: unconfirmed, so off by default).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

READINGS: Final = ("documented", "ungrouped")
SORTS: Final = ("asked", "asc", "desc")
MAX_OTHER_PER_HOUR: Final = 100_000
MAX_QUERIES_LIMIT: Final = 1_000
MAX_MIN_HOURS_LIMIT: Final = 24 * 366


class BehaviourError(ValueError):
    """A behaviour setting that cannot be understood; the message says why."""


@dataclass(frozen=True, slots=True)
class Behaviour:
    """The switches; `None` for a limit means the simulator does not enforce one."""

    rate_headers: bool = True  # X-RateLimit-Limit/-Remaining/-Reset on every answer
    other_client_per_hour: int = 0  # requests another client spends on the account
    reading: str = "documented"  # "ungrouped": one bucket per base bucket
    sort: str = "asked"  # "asc" or "desc": this order whatever sort_direction says
    max_queries: int | None = None  # queries per POST .../query
    max_min_hours: int | None = None  # hours one MIN window may span

    def __post_init__(self) -> None:
        for name, check in _CHECKS.items():
            check(name, getattr(self, name))

    def as_json(self) -> dict[str, object]:
        """Return the settings as `GET /_sim/behaviour` shows them."""
        return dataclasses.asdict(self)


def _flag(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise BehaviourError(f"{name} must be true or false")


def _count(high: int, *, optional: bool = False) -> Callable[[str, object], None]:
    def check(name: str, value: object) -> None:
        if optional and value is None:
            return
        low = 1 if optional else 0
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not low <= value <= high
        ):
            none = " or null" if optional else ""
            raise BehaviourError(
                f"{name} must be an integer from {low} to {high}{none}"
            )

    return check


def _choice(allowed: tuple[str, ...]) -> Callable[[str, object], None]:
    def check(name: str, value: object) -> None:
        if value not in allowed:
            raise BehaviourError(f"{name} must be one of {', '.join(allowed)}")

    return check


_CHECKS: dict[str, Callable[[str, object], None]] = {
    "rate_headers": _flag,
    "other_client_per_hour": _count(MAX_OTHER_PER_HOUR),
    "reading": _choice(READINGS),
    "sort": _choice(SORTS),
    "max_queries": _count(MAX_QUERIES_LIMIT, optional=True),
    "max_min_hours": _count(MAX_MIN_HOURS_LIMIT, optional=True),
}


class BehaviourBox:
    """The current Behaviour, replaced as a whole by control requests; thread-safe."""

    def __init__(self, initial: Behaviour) -> None:
        self._lock = threading.Lock()
        self._current = initial

    def get(self) -> Behaviour:
        """Return the settings in force."""
        with self._lock:
            return self._current

    def update(self, changes: dict[str, object]) -> Behaviour:
        """Change the named settings (the others stay), or raise BehaviourError."""
        unknown = sorted(set(changes) - set(_CHECKS))
        if unknown:
            raise BehaviourError(f"unknown setting(s): {', '.join(unknown)}")
        with self._lock:
            # Behaviour checks every field; replace() calls the constructor.
            self._current = dataclasses.replace(self._current, **changes)  # type: ignore[arg-type]  # checked in __post_init__
            return self._current

"""Fault rules posted to /_sim/faults: parsed, matched and used up per request."""

from __future__ import annotations

import dataclasses
import fnmatch
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, TypeVar, cast

BODY_KINDS = ("malformed", "truncated", "empty", "html", "wrong_shape")
SERIES_KINDS = ("malformed", "wrong_shape")  # what `body` can do to one request_id
REVOKE_SCOPES = ("access", "all")
MAX_DELAY = 120.0
_SCOPE_KEYS = ("route", "method", "count", "seconds", "request_id")
_EFFECT_KEYS = ("status", "delay", "body", "drop", "retry_after", "omit")


class FaultError(ValueError):
    """A fault request that cannot be understood; the message says why."""


@dataclass(frozen=True, slots=True)
class FaultRule:
    """What to do to matching requests, and for how long."""

    id: int
    route: str = "*"
    method: str | None = None
    count: int | None = 1
    until: datetime | None = None
    status: int | None = None
    delay: float = 0.0
    body: str | None = None
    drop: bool = False
    retry_after: int | None = None
    omit: tuple[str, ...] = ()
    # Only this series of a query answer: `body` and `omit` reshape it, not the whole.
    request_id: str | None = None

    def matches(self, method: str, path: str) -> bool:
        """Return whether the rule applies to a request."""
        method_ok = self.method is None or self.method == method
        return method_ok and fnmatch.fnmatchcase(path, self.route)

    def as_json(self) -> dict[str, object]:
        """Return the rule as listed by GET /_sim/faults."""
        document = dataclasses.asdict(self)
        document["until"] = None if self.until is None else _iso(self.until)
        document["omit"] = list(self.omit)
        if self.request_id is None:
            del document["request_id"]  # listed only on rules that target one series
        return document


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _int_in(name: str, value: object, low: int, high: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not low <= value <= high
    ):
        raise FaultError(f"{name} must be an integer from {low} to {high}")
    return value


def _number_in(name: str, value: object, low: float, high: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not low <= value <= high
    ):
        raise FaultError(f"{name} must be a number from {low:.10g} to {high:.10g}")
    return float(value)


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise FaultError(f"{name} must be a non-empty string")
    return value


def _body_kind(value: object) -> str:
    if not isinstance(value, str) or value not in BODY_KINDS:
        raise FaultError(f"body must be one of {', '.join(BODY_KINDS)}")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise FaultError("drop must be true or false")
    return value


def _keys(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise FaultError("omit must be a list of key names")
    return tuple(cast(list[str], value))


T = TypeVar("T")


def _optional(
    document: dict[str, object], name: str, parse: Callable[[object], T]
) -> T | None:
    return parse(document[name]) if name in document else None


def _lifetime(
    document: dict[str, object], now: datetime
) -> tuple[int | None, datetime | None]:
    if "count" in document and "seconds" in document:
        raise FaultError("give either count or seconds, not both")
    if "seconds" in document:
        seconds = _number_in("seconds", document["seconds"], 0.001, 366 * 86400)
        return None, now + timedelta(seconds=seconds)
    return _int_in("count", document.get("count", 1), 1, 1_000_000), None


def parse_revoke(document: dict[str, object]) -> Literal["access", "all"] | None:
    """Return the token revocation a fault request asks for, if any."""
    scope = document.get("revoke_tokens")
    if scope is None:
        return None
    if scope not in REVOKE_SCOPES:
        raise FaultError('revoke_tokens must be "access" or "all"')
    return cast(Literal["access", "all"], scope)


def parse_rule(document: dict[str, object], rule_id: int, now: datetime) -> FaultRule:
    """Build a rule from a POST /_sim/faults object, or raise FaultError."""
    unknown = sorted(set(document) - {*_SCOPE_KEYS, *_EFFECT_KEYS, "revoke_tokens"})
    if unknown:
        raise FaultError(f"unknown field(s): {', '.join(unknown)}")
    if not any(key in document for key in _EFFECT_KEYS):
        raise FaultError(f"a fault needs at least one of: {', '.join(_EFFECT_KEYS)}")
    count, until = _lifetime(document, now)
    method = _optional(document, "method", lambda v: _text("method", v).upper())
    request_id = _optional(document, "request_id", lambda v: _text("request_id", v))
    if request_id is not None and document.get("body", "malformed") not in SERIES_KINDS:
        raise FaultError(
            f"with request_id, body must be one of {', '.join(SERIES_KINDS)}"
        )
    return FaultRule(
        id=rule_id,
        route=_text("route", document.get("route", "*")),
        method=method,
        count=count,
        until=until,
        status=_optional(document, "status", lambda v: _int_in("status", v, 400, 599)),
        delay=_number_in("delay", document.get("delay", 0), 0, MAX_DELAY),
        body=_optional(document, "body", _body_kind),
        drop=_flag(document.get("drop", False)),
        retry_after=_optional(
            document, "retry_after", lambda v: _int_in("retry_after", v, 0, 86400)
        ),
        omit=_keys(document.get("omit", [])),
        request_id=request_id,
    )


class FaultBook:
    """The active fault rules, consumed first-match-first; thread-safe."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 1

    def add(self, document: dict[str, object]) -> FaultRule:
        """Parse and activate a rule, or raise FaultError."""
        with self._lock:
            rule = parse_rule(document, self._next_id, self._now())
            self._next_id += 1
            self._rules.append(rule)
        return rule

    def take(self, method: str, path: str) -> FaultRule | None:
        """Return the first live rule matching a request, using up one of its count."""
        with self._lock:
            self._expire()
            for index, rule in enumerate(self._rules):
                if rule.matches(method, path):
                    self._consume(index, rule)
                    return rule
        return None

    def active(self) -> list[FaultRule]:
        """Return the live rules in the order they are tried."""
        with self._lock:
            self._expire()
            return list(self._rules)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def _expire(self) -> None:
        now = self._now()
        self._rules = [r for r in self._rules if r.until is None or r.until > now]

    def _consume(self, index: int, rule: FaultRule) -> None:
        if rule.count is None:
            return
        if rule.count > 1:
            self._rules[index] = dataclasses.replace(rule, count=rule.count - 1)
        else:
            del self._rules[index]

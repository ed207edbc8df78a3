"""The query language of `POST /users/{uid}/devices/{did}/query`: checks and buckets.

Our reading of the API (flume-api.md §3.2, §4.1, §4.2; where it is silent, our choice):

- Body `{"queries": [...]}`. Each query needs `request_id` (a non-empty string, unique
  in the request; it keys the response), `bucket` (MIN, HR, DAY, MON, YR) and
  `since_datetime`. `until_datetime` defaults to now; a default `until` earlier than
  `since` is taken as `since`. Optional: `operation` (SUM, AVG, MIN, MAX, CNT), `units`
  (GALLONS by default, LITERS, CUBIC_FEET, CUBIC_METERS), `group_multiplier` (1..100, an
  int or a digit string), `sort_direction` (ASC by default, DESC), `tz` (an IANA zone
  overriding the location's). `types`, `device_id` and unknown keys are ignored.
- Times are naive "YYYY-MM-DD HH:MM:SS" in the zone. A repeated fall-back time means its
  first occurrence; a time in the spring-forward gap is read with the offset from before
  the change (zoneinfo fold=0).
- Every problem is one `detailed` line; all are collected. A window may span at most one
  calendar year (until <= since + 1 year), as Flume has enforced since 2025.
- Buckets align to calendar boundaries in local time: the first is the one holding
  `since`, the last the one holding `until` (inclusive: an `until` exactly on a bucket
  start includes that bucket). MIN and HR buckets step in real time from the aligned
  start and are labelled with local wall time, so a fall-back day repeats an hour of
  labels and a spring-forward day skips one: every real minute is in exactly one bucket.
  DAY/MON/YR edges are local midnights (23- and 25-hour days). group_multiplier N joins
  N base buckets from the first. Buckets starting after now are left out.
- A bucket's value is the water visible in it: [start, min(end, visible_until)), where
  visible_until is the latest minute boundary at least `latency` before now.
- `operation` collapses the series to `[{"value": x}]` (AVG is the mean bucket, CNT the
  number of buckets); an empty series stays `[]`. DESC reverses the series.
- Other readings (behaviour.py), for what real servers are reported to do: "ungrouped"
  validates `group_multiplier` but answers one bucket per base bucket (so per minute
  for MIN); sort "asc"/"desc" answers in that order whatever was asked; optional limits
  refuse more than `max_queries` queries in one body, or a MIN window longer than
  `max_min_hours`, with a 400 code 94 whose `detailed` line names the limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import TypeVar
from zoneinfo import ZoneInfo

from bridge.simulator.behaviour import Behaviour
from bridge.simulator.buckets import add_years, bucket_edges
from bridge.simulator.timebase import (
    format_local,
    is_zone,
    local_to_minutes,
    parse_local,
    to_minutes,
)

T = TypeVar("T")
BUCKETS = ("MIN", "HR", "DAY", "MON", "YR")
UNIT_FACTORS = {
    "GALLONS": 1.0,
    "LITERS": 3.785411784,
    "CUBIC_FEET": 231 / 1728,  # a US gallon is 231 cubic inches
    "CUBIC_METERS": 0.003785411784,
}
OPERATIONS: dict[str, Callable[[list[float]], float]] = {
    "SUM": sum,
    "AVG": lambda values: sum(values) / len(values),
    "MIN": min,
    "MAX": max,
    "CNT": len,
}
SORT_DIRECTIONS = ("ASC", "DESC")
_ANY_TIME = datetime(2000, 1, 1)  # noqa: DTZ001 (a placeholder, never used as an instant)
MAX_GROUP = 100
DOCUMENTED = Behaviour()
# Keeps calendar maths clear of datetime's year 1..9999 limits.
YEARS = (1900, 9000)


class QueryError(Exception):
    """The query body failed validation; `details` has one line per problem."""

    def __init__(self, details: list[str]) -> None:
        super().__init__("; ".join(details))
        self.details = details


@dataclass(frozen=True, slots=True)
class Query:
    """One validated query."""

    request_id: str
    bucket: str
    since: datetime  # naive local
    until: datetime | None  # naive local; None means now
    operation: str | None
    units: str
    group: int
    descending: bool
    tz: str | None


@dataclass(frozen=True, slots=True)
class QueryContext:
    """What a query runs against: zone, time, latency and the device's volume."""

    tz: str
    now: datetime
    latency_minutes: float
    # Gallons from a fixed origin up to each of some sorted epoch minutes.
    cumulative: Callable[[Sequence[float]], list[float]]
    behaviour: Behaviour = DOCUMENTED


def run_queries(
    body: object, context: QueryContext
) -> dict[str, list[dict[str, object]]]:
    """Validate a query body and answer every query, keyed by request_id."""
    queries = parse_body(body)
    problems = over_limits(queries, context)
    if problems:
        raise QueryError(problems)
    return {query.request_id: run_query(query, context) for query in queries}


def over_limits(queries: list[Query], context: QueryContext) -> list[str]:
    """One line per optional limit the queries break (none when limits are off)."""
    most, hours = context.behaviour.max_queries, context.behaviour.max_min_hours
    problems = []
    if most is not None and len(queries) > most:
        problems.append(
            f"queries holds {len(queries)} queries; at most {most} are allowed"
        )
    if hours is not None:
        problems += [
            f"{query.request_id}: a MIN window may span at most {hours} hours"
            for query in queries
            if query.bucket == "MIN" and _span(query, context) > hours * 60
        ]
    return problems


def _span(query: Query, context: QueryContext) -> float:
    zone = ZoneInfo(query.tz or context.tz)
    since = local_to_minutes(query.since, zone)
    until = (
        local_to_minutes(query.until, zone) if query.until else to_minutes(context.now)
    )
    return until - since


def parse_body(body: object) -> list[Query]:
    """Validate a query body, raising QueryError with every problem found."""
    if not isinstance(body, dict):
        raise QueryError(["The request body must be a JSON object"])
    items = body.get("queries")
    if not isinstance(items, list) or not items:
        raise QueryError(["queries must be a non-empty list of query objects"])
    errors: list[str] = []
    queries = [_parse_query(item, i, errors) for i, item in enumerate(items)]
    errors += _duplicates([q.request_id for q in queries if q])
    if errors:
        raise QueryError(errors)
    return [q for q in queries if q]


def _parse_query(item: object, index: int, errors: list[str]) -> Query | None:
    if not isinstance(item, dict):
        errors.append(f"queries[{index}] must be an object")
        return None
    mine: list[str] = []
    query = Query(
        request_id=_take(item, "request_id", _request_id, mine, ""),
        bucket=_take(item, "bucket", _choice(BUCKETS), mine, "MIN"),
        since=_take(item, "since_datetime", _local_time, mine, _ANY_TIME),
        until=_take(item, "until_datetime", _optional(_local_time), mine, None),
        operation=_take(
            item, "operation", _optional(_choice(tuple(OPERATIONS))), mine, None
        ),
        units=_take(
            item, "units", _default(_choice(tuple(UNIT_FACTORS)), "GALLONS"), mine, ""
        ),
        group=_take(item, "group_multiplier", _group, mine, 1),
        descending=_take(item, "sort_direction", _descending, mine, False),
        tz=_take(item, "tz", _optional(_zone), mine, None),
    )
    if not mine and query.until:
        mine += _window(query.since, query.until)
    rid = item.get("request_id")
    label = f"queries[{index}]" + (f" ({rid})" if isinstance(rid, str) and rid else "")
    errors += [f"{label}: {problem}" for problem in mine]
    return None if mine else query


def _take(
    item: dict[str, object],
    key: str,
    parse: Callable[[object], T],
    errors: list[str],
    fallback: T,
) -> T:
    # The fallback only fills the slot of an invalid field; such a query is discarded.
    try:
        return parse(item.get(key))
    except ValueError as exc:
        errors.append(f"{key} {exc}")
        return fallback


def _request_id(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("is required and must be a non-empty string")
    return value


def _choice(allowed: tuple[str, ...]) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return str(value)

    return parse


def _optional(parse: Callable[[object], T]) -> Callable[[object], T | None]:
    return lambda value: None if value is None else parse(value)


def _default(parse: Callable[[object], str], default: str) -> Callable[[object], str]:
    return lambda value: default if value is None else parse(value)


def _local_time(value: object) -> datetime:
    parsed = parse_local(value)
    if parsed is None:
        raise ValueError('must be a local time "YYYY-MM-DD HH:MM:SS"')
    if not YEARS[0] <= parsed.year <= YEARS[1]:
        raise ValueError(f"must be in the years {YEARS[0]}..{YEARS[1]}")
    return parsed


def _group(value: object) -> int:
    if value is None:
        return 1
    number = int(value) if isinstance(value, str) and value.isdecimal() else value
    if (
        isinstance(number, bool)
        or not isinstance(number, int)
        or not 1 <= number <= MAX_GROUP
    ):
        raise ValueError(f"must be an integer from 1 to {MAX_GROUP}")
    return number


def _descending(value: object) -> bool:
    return _default(_choice(SORT_DIRECTIONS), "ASC")(value) == "DESC"


def _zone(value: object) -> str:
    if not isinstance(value, str) or not is_zone(value):
        raise ValueError("must be an IANA time zone name")
    return value


def _window(since: datetime, until: datetime) -> list[str]:
    if until < since:
        return ["until_datetime must not be before since_datetime"]
    if until > add_years(since, 1):
        return [
            "the window from since_datetime to until_datetime must not exceed one year"
        ]
    return []


def _duplicates(ids: list[str]) -> list[str]:
    repeated = sorted({rid for rid in ids if ids.count(rid) > 1})
    return [f"request_id {rid!r} is used by more than one query" for rid in repeated]


def run_query(query: Query, context: QueryContext) -> list[dict[str, object]]:
    """Answer one validated query."""
    zone = ZoneInfo(query.tz or context.tz)
    now = to_minutes(context.now)
    since = local_to_minutes(query.since, zone)
    until = local_to_minutes(query.until, zone) if query.until else max(now, since)
    behaviour = context.behaviour
    group = 1 if behaviour.reading == "ungrouped" else query.group
    edges = bucket_edges(query.bucket, group, since, until, zone)
    starts = [start for start in edges[:-1] if start <= now]
    edges = edges[: len(starts) + 1] if starts else []
    visible = math.floor(now - context.latency_minutes)
    levels = context.cumulative([min(edge, visible) for edge in edges])
    values = [stop - start for start, stop in pairwise(levels)]
    factor = UNIT_FACTORS[query.units]
    if query.operation:
        return _collapse(values, query.operation, factor)
    series = [
        {"datetime": format_local(start, zone), "value": value * factor}
        for start, value in zip(starts, values, strict=True)
    ]
    descending = {"asked": query.descending, "asc": False, "desc": True}
    return series[::-1] if descending[behaviour.sort] else series


def _collapse(
    values: list[float], operation: str, factor: float
) -> list[dict[str, object]]:
    if not values:
        return []
    result = OPERATIONS[operation](values)
    return [{"value": result if operation == "CNT" else result * factor}]

"""Collection parameters (limit, offset, sort, flags), their errors, and paging."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bridge.simulator.envelope import Reply, success, validation_error
from bridge.simulator.routing import Request

DEFAULT_LIMIT = 50
_BOOLS = {"true": True, "false": False}

Item = dict[str, object]


@dataclass(frozen=True, slots=True)
class ListSpec:
    """What one collection route accepts."""

    sort_fields: tuple[str, ...]
    default_sort: str
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ListParams:
    """Validated collection parameters."""

    limit: int
    offset: int
    sort_field: str
    descending: bool
    flags: Mapping[str, bool | None]

    def flag(self, name: str) -> bool:
        """Return a boolean parameter, false when absent."""
        return bool(self.flags.get(name))


def to_int(text: str | None) -> int | None:
    """Return `text` as an int, or None if absent or not an integer."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def parse_flag(request: Request, name: str, errors: list[str]) -> bool | None:
    """Return a "true"/"false" parameter (any case), None if absent; log bad values."""
    raw = request.param(name)
    if raw is None:
        return None
    value = _BOOLS.get(raw.lower())
    if value is None:
        errors.append(f"Parameter [{name}] is not a valid boolean {{true/false}}")
    return value


def _limit(request: Request, errors: list[str]) -> int:
    raw = request.param("limit")
    value = to_int(raw)
    if raw is not None and (value is None or value < 1):
        errors.append("Provide a positive limit")
    return value if value is not None and value >= 1 else DEFAULT_LIMIT


def _offset(request: Request, errors: list[str]) -> int:
    raw = request.param("offset")
    value = to_int(raw)
    if raw is not None and (value is None or value < 0):
        errors.append("Provide a positive offset")
    return value if value is not None and value >= 0 else 0


def _sort_field(request: Request, spec: ListSpec, errors: list[str]) -> str:
    field = request.param("sort_field")
    if field is None:
        return spec.default_sort
    if field not in spec.sort_fields:
        errors.append(f"Sort field [{field}] is not a valid field")
        return spec.default_sort
    return field


def _descending(request: Request, errors: list[str]) -> bool:
    direction = (request.param("sort_direction") or "ASC").upper()
    if direction not in ("ASC", "DESC"):
        errors.append("Sort direction is not a valid direction {ASC/DESC}")
    return direction == "DESC"


def parse_list(request: Request, spec: ListSpec) -> tuple[ListParams, list[str]]:
    """Return the parameters and the validation errors found so far."""
    errors: list[str] = []
    params = ListParams(
        limit=_limit(request, errors),
        offset=_offset(request, errors),
        sort_field=_sort_field(request, spec, errors),
        descending=_descending(request, errors),
        flags={name: parse_flag(request, name, errors) for name in spec.flags},
    )
    return params, errors


def raise_if(errors: list[str]) -> None:
    """Raise Flume's 400 code 94 if any parameter failed."""
    if errors:
        raise validation_error(errors)


def _sort_key(field: str) -> Callable[[Item], tuple[bool, Any]]:
    def key(item: Item) -> tuple[bool, Any]:
        value = item.get(field)
        return value is None, value if value is not None else 0

    return key


def _link(request: Request, offset: int, limit: int) -> str:
    # Filters carry over so that a client can follow `next` without its own state.
    kept = [(k, v) for k, v in request.query if k not in ("offset", "limit")]
    return f"{request.path}?{urlencode([*kept, ('offset', offset), ('limit', limit)])}"


def _pagination(
    request: Request, params: ListParams, total: int
) -> dict[str, str | None] | None:
    following = params.offset + params.limit
    next_link = _link(request, following, params.limit) if following < total else None
    prev_link = None
    if params.offset > 0:
        prev_link = _link(request, max(0, params.offset - params.limit), params.limit)
    if next_link is None and prev_link is None:
        return None
    return {"next": next_link, "prev": prev_link}


def page(items: Iterable[Item], params: ListParams, request: Request) -> Reply:
    """Sort (ties by id), slice and wrap items; `count` is the number of matches."""
    ordered = sorted(items, key=_sort_key("id"))
    ordered.sort(key=_sort_key(params.sort_field), reverse=params.descending)
    window = ordered[params.offset : params.offset + params.limit]
    pagination = _pagination(request, params, len(ordered))
    return success(list(window), count=len(ordered), pagination=pagination)

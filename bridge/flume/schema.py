"""The shapes of Flume's JSON, parsed with pydantic at the edge into bridge.models."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from bridge.errors import FlumeProtocolError

# JSON numbers arrive as int or float; both are volumes, bools are not.
Number = StrictFloat | StrictInt


class _FlumeJson(BaseModel):
    """A part of Flume's JSON: unknown fields ignored, the types strict.

    Flume adds fields over time; a number where a string id belongs (or a bool
    where a number belongs) is malformed.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)


class Pagination(_FlumeJson):
    """The `pagination` object: `next` is a path without a host, or null."""

    next: StrictStr | None = None


class Envelope(_FlumeJson):
    """Flume's wrapper around every answer; `data` is always a list."""

    success: StrictBool
    message: str | None = None
    data: list[object]
    pagination: Pagination | None = None


class TokenGrant(_FlumeJson):
    """`data[0]` of POST /oauth/token."""

    access_token: StrictStr
    refresh_token: StrictStr
    expires_in: StrictInt | None = None


class JwtPayload(_FlumeJson):
    """The claims we read from the access token (signature not checked)."""

    user_id: StrictInt
    exp: StrictInt
    iat: StrictInt | None = None


class LocationData(_FlumeJson):
    """A location from GET /users/{uid}/locations or embedded in a device."""

    id: StrictInt
    name: StrictStr | None = None
    tz: StrictStr
    away_mode: StrictBool | None = None

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        # Every query window is computed in this zone: an unknown one is malformed.
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value[:40]!r}") from None
        return value


class DeviceData(_FlumeJson):
    """A device from GET /users/{uid}/devices (ids are strings of 19 digits)."""

    id: StrictStr
    type: StrictInt
    location_id: StrictInt | None = None
    bridge_id: StrictStr | None = None
    connected: StrictBool | None = None
    last_seen: AwareDatetime | None = None
    battery_level: StrictStr | None = None
    product: StrictStr | None = None
    location: LocationData | None = None


class PointData(_FlumeJson):
    """One bucket of a query series; `datetime` is absent when `operation` is set."""

    datetime: StrictStr | None = None
    value: Number


class QueryData(_FlumeJson):
    """`data[0]` of a query: request id -> series (each parsed on its own)."""

    series: dict[str, object]


class ActiveFlowData(_FlumeJson):
    """`data[0]` of GET .../query/active (`gpm` is always gallons per minute)."""

    active: StrictBool
    gpm: Number
    datetime: StrictStr | None = None


class LeakData(_FlumeJson):
    """`data[0]` of GET .../leaks/active."""

    active: StrictBool


class NotificationData(_FlumeJson):
    """A notification from GET /users/{uid}/notifications."""

    id: StrictInt
    device_id: StrictStr | None = None
    type: StrictInt | None = None
    title: StrictStr | None = None
    message: StrictStr | None = None
    created_datetime: AwareDatetime
    read: StrictBool | None = None
    extra: dict[str, object] | None = None


class UsageAlertData(_FlumeJson):
    """A usage alert from GET /users/{uid}/usage-alerts."""

    id: StrictInt
    device_id: StrictStr | None = None
    triggered_datetime: AwareDatetime
    flume_leak: StrictBool | None = None
    event_rule_name: StrictStr | None = None


M = TypeVar("M", bound=BaseModel)


def _where(error: ValidationError, skip: int = 0) -> str:
    # Field paths and error kinds only: the offending values may be tokens.
    first = error.errors()[0]
    path = ".".join(str(part) for part in first["loc"][skip:]) or "(top)"
    return f"{path}: {first['msg'][:80]}"


def parse(model: type[M], item: object, what: str, status: int | None = None) -> M:
    """Validate one JSON value as `model`, or raise FlumeProtocolError naming `what`."""
    try:
        return model.model_validate(item)
    except ValidationError as error:
        message = f"{what}: malformed ({_where(error)})"
        raise FlumeProtocolError(message, status=status) from None


def parse_all(model: type[M], items: Sequence[object], what: str) -> list[M]:
    """Validate every item of a `data` list; one malformed item rejects the answer."""
    try:
        found: list[M] = _list_of(model).validate_python(list(items))
    except ValidationError as error:
        index = error.errors()[0]["loc"][0]
        message = f"{what}[{index}]: malformed ({_where(error, skip=1)})"
        raise FlumeProtocolError(message) from None
    return found


@cache
def _list_of(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    # One validation of the whole list: a usage answer holds some hundred buckets,
    # and a model_validate call each was a tenth of a poll's CPU.
    return TypeAdapter(list[model])  # type: ignore[valid-type]  # a runtime model


def first(items: Sequence[object], what: str) -> object:
    """Return `data[0]`, or raise FlumeProtocolError when `data` is empty."""
    if not items:
        raise FlumeProtocolError(f"{what}: empty data")
    return items[0]


class StoredToken(BaseModel):
    """The token file in STATE_DIR: the grant and whose it is."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    format: Literal[1]
    api_url: str
    client_id: str
    username: str
    user_id: int
    access_token: str
    refresh_token: str
    issued_at: AwareDatetime
    expires_at: AwareDatetime


class StoredRecord(BaseModel):
    """The request record in STATE_DIR: each process's requests, on whose clock."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, strict=True, allow_inf_nan=False
    )

    format: Literal[1]
    boot_id: Annotated[str, Field(max_length=64)]
    # The writer's monotonic and wall clocks at the write: how its stamps convert.
    monotonic: float
    wall: float
    requests: dict[Annotated[str, Field(max_length=64)], list[float]]

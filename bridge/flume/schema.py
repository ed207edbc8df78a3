"""The shapes of Flume's JSON, parsed with pydantic at the edge into bridge.models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal, TypeVar
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
    ValidationError,
    field_validator,
)

from bridge.errors import FlumeProtocolError

# Unknown fields are ignored (Flume adds fields over time); types are strict so that a
# number where a string id belongs (or a bool where a number belongs) is malformed.
_TOLERANT = ConfigDict(extra="ignore", frozen=True)

# JSON numbers arrive as int or float; both are volumes, bools are not.
Number = StrictFloat | StrictInt


class Pagination(BaseModel):
    """The `pagination` object: `next` is a path without a host, or null."""

    model_config = _TOLERANT

    next: StrictStr | None = None


class Envelope(BaseModel):
    """Flume's wrapper around every answer; `data` is always a list."""

    model_config = _TOLERANT

    success: StrictBool
    message: str | None = None
    data: list[object]
    pagination: Pagination | None = None


class TokenGrant(BaseModel):
    """`data[0]` of POST /oauth/token."""

    model_config = _TOLERANT

    access_token: StrictStr
    refresh_token: StrictStr
    expires_in: StrictInt | None = None


class JwtPayload(BaseModel):
    """The claims we read from the access token (signature not checked)."""

    model_config = _TOLERANT

    user_id: StrictInt
    exp: StrictInt
    iat: StrictInt | None = None


class LocationData(BaseModel):
    """A location from GET /users/{uid}/locations or embedded in a device."""

    model_config = _TOLERANT

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


class DeviceData(BaseModel):
    """A device from GET /users/{uid}/devices (ids are strings of 19 digits)."""

    model_config = _TOLERANT

    id: StrictStr
    type: StrictInt
    location_id: StrictInt | None = None
    bridge_id: StrictStr | None = None
    connected: StrictBool | None = None
    last_seen: AwareDatetime | None = None
    battery_level: StrictStr | None = None
    product: StrictStr | None = None
    location: LocationData | None = None


class PointData(BaseModel):
    """One bucket of a query series; `datetime` is absent when `operation` is set."""

    model_config = _TOLERANT

    datetime: StrictStr | None = None
    value: Number


class QueryData(BaseModel):
    """`data[0]` of a query: request id -> series."""

    model_config = _TOLERANT

    series: dict[str, list[PointData]]


class ActiveFlowData(BaseModel):
    """`data[0]` of GET .../query/active (`gpm` is always gallons per minute)."""

    model_config = _TOLERANT

    active: StrictBool
    gpm: Number
    datetime: StrictStr | None = None


class LeakData(BaseModel):
    """`data[0]` of GET .../leaks/active."""

    model_config = _TOLERANT

    active: StrictBool


class NotificationData(BaseModel):
    """A notification from GET /users/{uid}/notifications."""

    model_config = _TOLERANT

    id: StrictInt
    device_id: StrictStr | None = None
    type: StrictInt | None = None
    title: StrictStr | None = None
    message: StrictStr | None = None
    created_datetime: AwareDatetime
    read: StrictBool | None = None
    extra: dict[str, object] | None = None


class UsageAlertData(BaseModel):
    """A usage alert from GET /users/{uid}/usage-alerts."""

    model_config = _TOLERANT

    id: StrictInt
    device_id: StrictStr | None = None
    triggered_datetime: AwareDatetime
    flume_leak: StrictBool | None = None
    event_rule_name: StrictStr | None = None


M = TypeVar("M", bound=BaseModel)


def _where(error: ValidationError) -> str:
    # Field paths and error kinds only: the offending values may be tokens.
    first = error.errors()[0]
    path = ".".join(str(part) for part in first["loc"]) or "(top)"
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
    return [parse(model, item, f"{what}[{n}]") for n, item in enumerate(items)]


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

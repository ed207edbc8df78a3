"""Flume's response envelope, API errors and the reply value the HTTP layer writes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from http import HTTPStatus

CODE_OK = 602
CODE_VALIDATION = 94
CODE_NOT_FOUND = 610
CODE_UPDATED = 612  # a PATCH's success (flume-api.md §1)

JSON_TYPE = "application/json; charset=utf-8"
VALIDATION_MESSAGE = "A provided parameter failed validation"
NOT_FOUND_MESSAGE = "Record could not be found"
TOO_MANY_MESSAGE = "Too many requests, please try again later."


class Delivery(Enum):
    """How the transport hands a reply to the client."""

    SEND = "send"
    DROP = "drop"  # close the connection without a response
    TRUNCATE = "truncate"  # announce the full length, send half, close


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP response before it is written to the socket."""

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()
    delivery: Delivery = Delivery.SEND
    # The decoded JSON document, kept so that faults can reshape it before encoding.
    document: object = field(default=None, compare=False)


class ApiError(Exception):
    """An error answered with Flume's envelope (`success: false`)."""

    def __init__(
        self,
        status: int,
        message: str,
        detailed: list[str] | None = None,
        *,
        code: int | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detailed = detailed
        self.code = code
        self.headers = headers


def validation_error(detailed: list[str]) -> ApiError:
    """Return Flume's 400 code 94 error listing every failed parameter."""
    return ApiError(400, VALIDATION_MESSAGE, detailed, code=CODE_VALIDATION)


def not_found() -> ApiError:
    """Return Flume's 404 code 610 error for an unknown user, device or location."""
    return ApiError(404, NOT_FOUND_MESSAGE, code=CODE_NOT_FOUND)


def http_message(status: int) -> str:
    """Return the reason phrase of a status code ("Unknown" for unassigned codes)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def encode(document: object) -> bytes:
    """Encode a JSON document the way the API does (compact UTF-8)."""
    return json.dumps(document, separators=(",", ":")).encode()


def json_reply(
    status: int, document: object, headers: tuple[tuple[str, str], ...] = ()
) -> Reply:
    """Return a JSON reply that keeps its decoded document for later reshaping."""
    return Reply(status, encode(document), headers=headers, document=document)


def success(
    data: list[object],
    *,
    count: int | None = None,
    pagination: dict[str, str | None] | None = None,
) -> Reply:
    """Return a 200 envelope; `count` defaults to the number of items."""
    document = {
        "success": True,
        "code": CODE_OK,
        "message": "Request OK",
        "http_code": 200,
        "http_message": "OK",
        "detailed": None,
        "data": data,
        "count": len(data) if count is None else count,
        "pagination": pagination,
    }
    return json_reply(200, document)


def updated() -> Reply:
    """Return the 200 envelope of a PATCH: code 612, no data."""
    document = {
        "success": True,
        "code": CODE_UPDATED,
        "message": "Record successfully updated",
        "http_code": 200,
        "http_message": "OK",
        "detailed": None,
        "data": [],
        "count": 0,
        "pagination": None,
    }
    return json_reply(200, document)


def failure(error: ApiError) -> Reply:
    """Return the envelope of an API error; `code` is left out when Flume omits it."""
    document: dict[str, object] = {"success": False}
    if error.code is not None:
        document["code"] = error.code
    document.update(
        {
            "message": error.message,
            "http_code": error.status,
            "http_message": http_message(error.status),
            "detailed": error.detailed,
            "data": [],
            "count": 0,
            "pagination": None,
        }
    )
    return json_reply(error.status, document, error.headers)

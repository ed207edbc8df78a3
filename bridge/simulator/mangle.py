"""How a fault rule turns a genuine reply into a failed, late or damaged one."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import cast

from bridge.simulator.envelope import (
    TOO_MANY_MESSAGE,
    ApiError,
    Delivery,
    Reply,
    encode,
    failure,
    http_message,
)
from bridge.simulator.faults import FaultRule

_ERROR_MESSAGES = {401: "invalid_token", 429: TOO_MANY_MESSAGE}


def apply(rule: FaultRule, run: Callable[[], Reply]) -> Reply:
    """Answer a request under `rule`; `run` produces the genuine reply when needed."""
    if rule.delay:
        time.sleep(rule.delay)
    if rule.drop:
        return Reply(0, delivery=Delivery.DROP)
    reply = injected_error(rule.status) if rule.status is not None else run()
    if rule.request_id is not None:
        return _series_fault(reply, rule, rule.request_id)
    if rule.omit:
        reply = _omit(reply, rule.omit)
    if rule.body is not None:
        reply = _BODY_SHAPERS[rule.body](reply)
    if rule.retry_after is not None:
        retry = ("Retry-After", str(rule.retry_after))
        reply = dataclasses.replace(reply, headers=(*reply.headers, retry))
    return reply


def injected_error(status: int) -> Reply:
    """Return the envelope of an injected error status."""
    return failure(ApiError(status, _ERROR_MESSAGES.get(status, http_message(status))))


def _series_fault(reply: Reply, rule: FaultRule, request_id: str) -> Reply:
    """Damage one series of a query answer; the rest of the answer stays genuine."""
    document, items = reply.document, _data_items(reply.document)
    found = items[0] if items and isinstance(items[0], dict) else None
    if not isinstance(document, dict) or found is None or request_id not in found:
        return reply  # not a query answer holding that series: nothing to damage
    series = found[request_id]
    points = series if isinstance(series, list) else []
    if rule.omit:
        points = [
            {k: v for k, v in p.items() if k not in rule.omit}
            if isinstance(p, dict)
            else p
            for p in points
        ]
    damaged = _SERIES_SHAPERS[rule.body](points) if rule.body else points
    reshaped = {**document, "data": [{**found, request_id: damaged}, *items[1:]]}
    return dataclasses.replace(reply, body=encode(reshaped), document=reshaped)


def _damaged_values(points: list[object]) -> object:
    # Numbers written as text with a decimal comma: valid JSON, not a volume.
    return [
        {**p, "value": f"{p.get('value')}".replace(".", ",")}
        if isinstance(p, dict)
        else p
        for p in points
    ] or [{"value": "n/a"}]


_SERIES_SHAPERS: dict[str, Callable[[list[object]], object]] = {
    "malformed": _damaged_values,
    "wrong_shape": lambda _points: {"unexpected": True},
}


def _data_items(document: object) -> list[object]:
    if isinstance(document, dict) and isinstance(document.get("data"), list):
        return cast(list[object], document["data"])
    return []


def _omit(reply: Reply, keys: tuple[str, ...]) -> Reply:
    document = reply.document
    items = [
        {k: v for k, v in item.items() if k not in keys}
        if isinstance(item, dict)
        else item
        for item in _data_items(document)
    ]
    if not isinstance(document, dict):
        return reply
    reshaped = {**document, "data": items}
    return dataclasses.replace(reply, body=encode(reshaped), document=reshaped)


def _malformed(reply: Reply) -> Reply:
    # A trailing comma before the closing brace: the flaw of a Flume docs example.
    body = reply.body[:-1] + b",}" if reply.body.endswith(b"}") else reply.body + b"{"
    return dataclasses.replace(reply, body=body, document=None)


def _truncated(reply: Reply) -> Reply:
    return dataclasses.replace(reply, delivery=Delivery.TRUNCATE)


def _empty(reply: Reply) -> Reply:
    return dataclasses.replace(reply, body=b"", document=None)


def _html(reply: Reply) -> Reply:
    title = f"{reply.status} {http_message(reply.status)}"
    page = (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    )
    return dataclasses.replace(
        reply, body=page.encode(), content_type="text/html", document=None
    )


def _wrong_shape(reply: Reply) -> Reply:
    # Valid JSON, but `data` is an object where every client expects a list.
    document = reply.document
    base = document if isinstance(document, dict) else {}
    reshaped = {**base, "data": {"unexpected": True}}
    return dataclasses.replace(reply, body=encode(reshaped), document=reshaped)


_BODY_SHAPERS: dict[str, Callable[[Reply], Reply]] = {
    "malformed": _malformed,
    "truncated": _truncated,
    "empty": _empty,
    "html": _html,
    "wrong_shape": _wrong_shape,
}

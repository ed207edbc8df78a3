"""POST /oauth/token: password and refresh grants, JSON or form, enveloped or bare."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from bridge.simulator.envelope import ApiError, Reply, failure, json_reply, success
from bridge.simulator.guards import too_many_requests
from bridge.simulator.listing import parse_flag, raise_if
from bridge.simulator.routing import Call, Request
from bridge.simulator.state import State
from bridge.simulator.tokens import Grant, GrantError

FORM_TYPE = "application/x-www-form-urlencoded"


def read_form(request: Request) -> dict[str, object]:
    """Return the grant fields of a JSON or form-encoded body."""
    if request.headers.get("content-type", "").startswith(FORM_TYPE):
        return dict(parse_qsl(request.body.decode("utf-8", "replace")))
    try:
        document = json.loads(request.body) if request.body.strip() else {}
    except ValueError:
        raise GrantError(
            "invalid_request", "The request body is not valid JSON"
        ) from None
    if not isinstance(document, dict):
        raise GrantError("invalid_request", "The request body must be a JSON object")
    return document


def _refusal(error: GrantError, envelope: bool) -> Reply:
    if envelope:
        return failure(ApiError(400, error.error, [error.description]))
    # Without the envelope, errors take the bare OAuth 2.0 shape (RFC 6749 §5.2).
    document = {"error": error.error, "error_description": error.description}
    return json_reply(400, document)


def _grant(state: State, request: Request) -> Grant:
    form = read_form(request)
    owner = state.tokens.owner(form)
    if owner is not None and not state.limiter.admit(owner):
        raise too_many_requests()
    return state.tokens.grant(form)


def token(state: State, call: Call) -> Reply:
    """Grant tokens; the call counts against the limit of the user it names."""
    errors: list[str] = []
    envelope = parse_flag(call.request, "envelope", errors) is not False
    raise_if(errors)
    try:
        grant = _grant(state, call.request)
    except GrantError as error:
        return _refusal(error, envelope)
    if envelope:
        return success([grant.as_json()])
    return json_reply(200, grant.as_json())

"""Route guards: bearer auth, the rate limit, the user id check, loopback only."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from bridge.simulator.envelope import TOO_MANY_MESSAGE, ApiError
from bridge.simulator.routing import Request
from bridge.simulator.state import State
from bridge.simulator.tokens import InvalidTokenError

FORBIDDEN_MESSAGE = "Caller does not have access to the information requested"


def too_many_requests() -> ApiError:
    """Return Flume's 429 (no Retry-After: none is documented)."""
    return ApiError(429, TOO_MANY_MESSAGE)


def bearer_token(request: Request) -> str:
    """Return the bearer token, or raise Flume's documented 400 for a missing one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(400, "invalid_request", ["The access token was not found"])
    return token.strip()


def user_guard(state: State, request: Request, args: Mapping[str, str]) -> int:
    """Authenticate, count against the limit, then check the path's user id."""
    token = bearer_token(request)
    try:
        user_id = state.tokens.verify(token)
    except InvalidTokenError as error:
        challenge = ("WWW-Authenticate", 'Bearer error="invalid_token"')
        raise ApiError(
            401, "invalid_token", [str(error)], headers=(challenge,)
        ) from None
    if not state.limiter.admit(user_id):
        raise too_many_requests()
    if args.get("uid") != str(user_id):
        detail = "You do not have the access permissions to access this route"
        raise ApiError(403, FORBIDDEN_MESSAGE, [detail])
    return user_id


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool((mapped or address).is_loopback)


def loopback_guard(_state: State, request: Request, _args: Mapping[str, str]) -> None:
    """Refuse control requests that do not come from this machine."""
    if not _is_loopback(request.client):
        raise ApiError(
            403, "Forbidden", ["Control routes answer loopback clients only"]
        )

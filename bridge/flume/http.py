"""FlumeHttp: one budgeted request to Flume, its envelope parsed, its failure typed.

Error mapping (every failure leaves here as a bridge.errors type):

    no budget (our own limiter)              FlumeRateLimitError(status=None), not sent
    connection refused/reset, timeout        FlumeUnavailableError(status=None)
    429                                      budget paused, FlumeRateLimitError(429)
    5xx                                      FlumeUnavailableError(status)
    400/401/403 on POST /oauth/token         FlumeAuthError(status)
    401 on a data route                      FlumeAuthError(401): the client refreshes
    other 4xx (403 on a data route too)      FlumeProtocolError(status)
    a body cut short or undecodable          FlumeProtocolError(status=None)
    2xx: not JSON, HTML, empty, success      FlumeProtocolError(status)
         false, not an envelope

Every answer's X-RateLimit-* headers, when it has them, go to the budget first
(flume-api.md §5.1); headers that are not numbers are ignored.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Protocol

import requests
from requests.exceptions import ContentDecodingError

from bridge.errors import (
    FlumeAuthError,
    FlumeError,
    FlumeProtocolError,
    FlumeRateLimitError,
    FlumeUnavailableError,
)
from bridge.flume.clock import ServerClock, parse_http_date
from bridge.flume.schema import Envelope, parse
from bridge.flume.share import RateHeaders

log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth/token"  # noqa: S105 (a route, not a secret)
_BODY_HINT = 120  # characters of an error's `message`/`detailed` kept in exceptions
_COUNT_MAX = 10**9  # a Limit or Remaining past this is not a count
# A Reset this small is seconds from now (as some APIs send it), larger ones are epoch
# seconds (PyFlumeNG's reading, flume-api.md §5.1); a slot of a rolling hour frees
# within the hour, so a Reset further off than that, or long past, is garbage.
_RESET_AS_DELTA = 10**8
_RESET_MAX = 3600.0 + 60.0
_RESET_PAST = -60.0


class Budget(Protocol):
    """What the transport needs of bridge.flume.budget.RequestBudget."""

    def acquire(self, *, essential: bool = False) -> None:
        """Record one request (token grants are essential), or raise without it."""

    def pause(self, retry_after: float | None) -> None:
        """Stop every request for a while after a 429."""

    def success(self) -> None:
        """Note an answered request (resets the 429 backoff)."""

    def observe(self, headers: RateHeaders) -> None:
        """Take in what an answer's rate-limit headers say of the account's hour."""

    def release(self) -> None:
        """Give back what was taken ahead and not used (on close)."""


Params = Mapping[str, str | int]  # booleans as "true"/"false": Flume's spelling


def retry_after(response: requests.Response) -> float | None:
    """Return `Retry-After` in seconds when it is a plain non-negative number."""
    raw = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(raw)
    except ValueError:
        return None  # absent, or an HTTP date: the budget backs off on its own
    return seconds if seconds >= 0 else None


def _count(text: str | None) -> int | None:
    try:
        number = int((text or "").strip())
    except ValueError:
        return None
    return number if 0 <= number <= _COUNT_MAX else None


def _reset_in(text: str | None, answered: float) -> float | None:
    """Seconds from the answer until Flume frees a slot, if `text` says it plainly."""
    try:
        reset = float((text or "").strip())
    except ValueError:
        return None
    seconds = reset if reset < _RESET_AS_DELTA else reset - answered
    # float("nan") compares false both ways: it is refused here too.
    return max(0.0, seconds) if _RESET_PAST <= seconds <= _RESET_MAX else None


def rate_headers(response: requests.Response, now: float) -> RateHeaders:
    """The X-RateLimit-* headers of an answer; Reset counted from its `Date`.

    Flume's Reset is on Flume's clock: the answer's own `Date` says when it was
    answered, and `now` (Flume's time as last learnt, else the host's) stands in
    for an answer without one.
    """
    headers = response.headers
    answered = parse_http_date(headers.get("Date")) or now
    found = RateHeaders(
        limit=_count(headers.get("X-RateLimit-Limit")),
        remaining=_count(headers.get("X-RateLimit-Remaining")),
        reset_in=_reset_in(headers.get("X-RateLimit-Reset"), answered),
    )
    if found.limit == 0:
        return RateHeaders(remaining=found.remaining, reset_in=found.reset_in)
    return found


def _hint(response: requests.Response) -> str:
    """Return Flume's own words about an error (message, detailed[0]), if any."""
    try:
        document = response.json()
    except ValueError:
        return ""
    if not isinstance(document, dict):
        return ""
    detailed = document.get("detailed")
    parts = [document.get("message")]
    if isinstance(detailed, list) and detailed:
        parts.append(detailed[0])
    text = "; ".join(p for p in parts if isinstance(p, str) and p)
    return f": {text[:_BODY_HINT]}" if text else ""


def _status_error(what: str, response: requests.Response) -> FlumeError:
    status = response.status_code
    hint = _hint(response)
    if status >= 500:
        return FlumeUnavailableError(f"{what}: HTTP {status}{hint}", status=status)
    # A 403 on data (one device shared no longer, say) must not stop the whole bridge
    # as a credential error would; on /oauth/token it is (unverified_user).
    auth_statuses = (400, 401, 403) if what.endswith(TOKEN_PATH) else (401,)
    if status in auth_statuses:
        return FlumeAuthError(f"{what}: refused, HTTP {status}{hint}", status=status)
    return FlumeProtocolError(f"{what}: HTTP {status}{hint}", status=status)


def _envelope(what: str, response: requests.Response) -> Envelope:
    status = response.status_code
    try:
        document = response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        raise FlumeProtocolError(
            f"{what}: answer is not JSON ({kind}, {len(response.content)} bytes)",
            status=status,
        ) from None
    return envelope_of(document, what, status)


def envelope_of(document: object, what: str, status: int | None = None) -> Envelope:
    """Return the envelope of a 2xx answer, refusing one that says it failed."""
    envelope = parse(Envelope, document, what, status)
    if not envelope.success:
        raise FlumeProtocolError(f"{what}: success is false", status=status)
    return envelope


def _failure(what: str, error: requests.RequestException) -> FlumeError:
    """The bridge error for a request that got no usable answer."""
    if isinstance(
        error, requests.exceptions.ChunkedEncodingError | ContentDecodingError
    ):
        return FlumeProtocolError(f"{what}: answer cut short or undecodable")
    return FlumeUnavailableError(f"{what}: {type(error).__name__}", status=None)


def _session(base_url: str) -> requests.Session:
    """A session with the environment's proxy and CA settings read once, for Flume.

    requests reads them from the environment again on every request: a fifth of a
    poll's CPU. The service's environment does not change while it runs, and it
    speaks to one base URL only, so the settings it would find are known at start.
    """
    session = requests.Session()
    session.proxies = requests.utils.get_environ_proxies(base_url)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    session.verify = bundle or True
    session.trust_env = False  # nor ~/.netrc: Flume's credentials come from settings
    return session


class FlumeHttp:
    """Sends requests to one Flume base URL within a request budget."""

    @classmethod
    def open(
        cls,
        base_url: str,
        timeout: float,
        budget: Budget,
        *,
        server_clock: ServerClock | None = None,
    ) -> FlumeHttp:
        """A transport with an HTTP session of its own; `close()` it when done."""
        return cls(
            _session(base_url), base_url, timeout, budget, server_clock=server_clock
        )

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        timeout: float,
        budget: Budget,
        *,
        clock: Callable[[], float] = time.monotonic,
        server_clock: ServerClock | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._timeout = timeout
        self._budget = budget
        self._clock = clock
        self._server_clock = server_clock

    def close(self) -> None:
        """Close the HTTP session and its connections; release the budget's slots."""
        self._session.close()
        self._budget.release()

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        params: Params | None = None,
        body: Mapping[str, object] | None = None,
    ) -> Envelope:
        """Send `method path` (path starts with "/") and return its envelope.

        Raises:
            FlumeError: a subclass saying what went wrong (see the module docstring).
        """
        route = path.split("?", maxsplit=1)[0]
        what = f"{method} {route}"
        self._budget.acquire(essential=route == TOKEN_PATH)
        response = self._send(method, path, what, token, params, body)
        headers = rate_headers(response, self._flume_now())
        self._budget.observe(headers)
        if response.status_code == 429:
            wait = retry_after(response)
            if wait is None and headers.remaining == 0:
                wait = headers.reset_in  # nothing remains until Flume frees a slot
            self._budget.pause(wait)
            raise FlumeRateLimitError(
                f"{what}: HTTP 429 (rate limited)", retry_after=wait
            )
        if not 200 <= response.status_code < 300:
            raise _status_error(what, response)
        envelope = _envelope(what, response)
        self._budget.success()
        return envelope

    def _flume_now(self) -> float:
        if self._server_clock is None:
            return time.time()
        return self._server_clock.now().timestamp()

    def _send(
        self,
        method: str,
        path: str,
        what: str,
        token: str | None,
        params: Params | None,
        body: Mapping[str, object] | None,
    ) -> requests.Response:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        started = self._clock()
        try:
            response = self._session.request(
                method,
                self.base_url + path,
                params=params,
                json=body,
                headers=headers,
                timeout=self._timeout,
            )
            if self._server_clock is not None:
                self._server_clock.observe(response.headers.get("Date"))
            # Read the whole body here so that a truncated one fails inside the try.
            _ = response.content
        except requests.RequestException as error:
            failure = _failure(what, error)
            log.debug("%s", failure)
            raise failure from None
        log.debug(
            "%s -> %s in %.0f ms",
            what,
            response.status_code,
            (self._clock() - started) * 1000,
        )
        return response

"""Flume OAuth tokens: password and refresh grants, refresh timing, fallback, reuse.

Refresh policy: a token is renewed once two thirds of its lifetime have passed (for
Flume's 7-day tokens, with 2 1/3 days to spare; openHAB does the same), so a refresh
that fails for a while on an outage or an empty budget costs nothing while the old
token still works. A refused refresh (Flume's refresh tokens are single-use and go
invalid every few weeks) falls back to one password grant; a refused password grant
is permanent and is never sent again by this manager.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from bridge.errors import (
    FlumeAuthError,
    FlumeError,
    FlumeProtocolError,
    FlumeUnavailableError,
)
from bridge.flume.http import TOKEN_PATH, FlumeHttp
from bridge.flume.schema import JwtPayload, TokenGrant, first, parse
from bridge.flume.tokenfile import TokenStore
from bridge.models import Token

__all__ = ["Credentials", "TokenManager", "TokenStore", "refresh_due", "token_from"]

log = logging.getLogger(__name__)

REFRESH_AFTER = 2 / 3  # of a token's lifetime
MAX_LIFETIME = 90 * 86400  # seconds; Flume's tokens live 7 days
_REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class Credentials:
    """The personal API client and the Flume account it logs in as."""

    client_id: str
    client_secret: SecretStr
    username: str
    password: SecretStr

    @classmethod
    def of(
        cls, client_id: str, client_secret: str, username: str, password: str
    ) -> Credentials:
        """Credentials from plain strings (the simulator's demo account)."""
        return cls(client_id, SecretStr(client_secret), username, SecretStr(password))


def decode_jwt(access_token: str) -> JwtPayload:
    """Return the claims of a JWT without checking its signature (Flume signs it)."""
    parts = access_token.split(".")
    payload = parts[1] if len(parts) == 3 else ""
    try:
        document = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )
    except (ValueError, binascii.Error):  # never the token itself in the message
        raise FlumeProtocolError("access token: not a readable JWT") from None
    return parse(JwtPayload, document, "access token payload")


def token_from(grant: TokenGrant, received: datetime) -> Token:
    """Build a Token from a grant received at `received` (our clock)."""
    claims = decode_jwt(grant.access_token)
    if claims.iat is not None:
        lifetime = claims.exp - claims.iat
    elif grant.expires_in is not None:
        lifetime = grant.expires_in
    else:
        lifetime = int(claims.exp - received.timestamp())
    if lifetime <= 0:
        raise FlumeProtocolError(f"access token: lifetime of {lifetime} s")
    lifetime = min(lifetime, MAX_LIFETIME)  # an absurd `exp` still refreshes sometime
    return Token(
        access_token=grant.access_token,
        refresh_token=grant.refresh_token,
        user_id=claims.user_id,
        expires_at=received + timedelta(seconds=lifetime),
        issued_at=received,
    )


def refresh_due(token: Token, now: datetime) -> bool:
    """Return whether `token` should be renewed at `now`."""
    issued = token.issued_at or token.expires_at
    return now >= issued + (token.expires_at - issued) * REFRESH_AFTER


def _redact(error: FlumeError, secrets: list[str]) -> None:
    # Flume's error text is quoted in messages; make sure it never echoes a secret.
    text = str(error)
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    error.args = (text,)


class TokenManager:
    """Keeps a valid access token for one account: login, refresh, persistence."""

    def __init__(
        self,
        http: FlumeHttp,
        credentials: Credentials,
        store: TokenStore | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._http = http
        self._creds = credentials
        self._store = store
        self._now = now
        self._lock = threading.RLock()
        self._refused: FlumeAuthError | None = None
        self._postponed = False  # a refresh failed and waits for the next call
        self._identity = {
            "api_url": http.base_url,
            "client_id": credentials.client_id,
            "username": credentials.username,
        }
        self._token = store.load(self._identity) if store is not None else None
        if self._token is not None:
            log.info("using the saved Flume token of user %d", self._token.user_id)

    @property
    def user_id(self) -> int:
        """The Flume user id from the access token (logs in if needed)."""
        return self._current().user_id

    def access_token(self) -> str:
        """Return a valid access token, logging in or refreshing when due."""
        return self._current().access_token

    def force_refresh(self) -> None:
        """Renew the token now (Flume answered 401 to the current one)."""
        with self._lock:
            if not self._adopt_saved():
                self._renew()

    def _current(self) -> Token:
        with self._lock:
            token = self._token
            if token is None:
                return self._adopt(self._password_grant())
            if refresh_due(token, self._now()) and self._adopt_saved():
                token = self._token or token
            if refresh_due(token, self._now()):
                try:
                    self._renew()
                except (FlumeUnavailableError, FlumeProtocolError) as error:
                    if self._now() >= token.expires_at:
                        raise
                    # The old token works for a third of its lifetime: use it.
                    level = logging.DEBUG if self._postponed else logging.WARNING
                    log.log(level, "token refresh postponed: %s", error)
                    self._postponed = True
            return self._token or token

    def _adopt_saved(self) -> bool:
        """Take a newer token another process (`discovery`) saved; whether it did.

        Refresh tokens are single-use: if `discovery` refreshed beside the running
        service, ours is spent, and only the saved one renews without a login.
        """
        if self._store is None or self._token is None:
            return False
        saved = self._store.load(self._identity, tidy=False)
        ours = self._token.issued_at or self._token.expires_at
        if saved is None or (saved.issued_at or saved.expires_at) <= ours:
            return False
        log.info("using the newer Flume token saved by another process")
        self._token = saved
        return True

    def _renew(self) -> None:
        token = self._token
        if token is None or not token.refresh_token:
            self._adopt(self._password_grant())
            return
        form = {"grant_type": "refresh_token", "refresh_token": token.refresh_token}
        try:
            renewed = self._grant({**form, **self._client()})
        except FlumeAuthError as error:
            log.warning("Flume refused the refresh token (%s); logging in again", error)
            # Single-use and refused: never send it again, even if the login fails.
            self._token = replace(token, refresh_token="")
            renewed = self._password_grant()
        else:
            log.info("refreshed the Flume token of user %d", renewed.user_id)
        self._adopt(renewed)

    def _password_grant(self) -> Token:
        if self._refused is not None:
            raise self._refused  # never retry a refused login: it can lock the account
        form = {
            "grant_type": "password",
            **self._client(),
            "username": self._creds.username,
            "password": self._creds.password.get_secret_value(),
        }
        try:
            token = self._grant(form)
        except FlumeAuthError as error:
            self._refused = FlumeAuthError(
                f"Flume refused the login of {self._creds.username} ({error})",
                status=error.status,
            )
            raise self._refused from None
        log.info("logged in to Flume as user %d", token.user_id)
        return token

    def _client(self) -> dict[str, str]:
        return {
            "client_id": self._creds.client_id,
            "client_secret": self._creds.client_secret.get_secret_value(),
        }

    def _grant(self, form: dict[str, str]) -> Token:
        what = f"POST {TOKEN_PATH}"
        try:
            envelope = self._http.request("POST", TOKEN_PATH, body=form)
            grant = parse(TokenGrant, first(envelope.data, what), what)
            return token_from(grant, self._now())
        except FlumeError as error:
            _redact(error, [v for k, v in form.items() if k != "grant_type"])
            raise

    def _adopt(self, token: Token) -> Token:
        # The old token is dropped here: nothing else keeps a copy.
        self._token = token
        self._postponed = False
        if self._store is not None:
            self._store.save(token, self._identity)
        return token

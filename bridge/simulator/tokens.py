"""OAuth grants, HS256 JWT access tokens and single-use refresh tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

SCOPE = ("read:personal", "update:personal", "query:personal")
_HEADER = {"alg": "HS256", "typ": "JWT"}


@dataclass(frozen=True, slots=True)
class Credentials:
    """The one account the simulator knows, and its token lifetime."""

    client_id: str
    client_secret: str
    username: str
    password: str
    user_id: int
    token_ttl: int


@dataclass(frozen=True, slots=True)
class Grant:
    """A successful token grant."""

    access_token: str
    refresh_token: str
    expires_in: int

    def as_json(self) -> dict[str, object]:
        """Return the OAuth object Flume puts in `data[0]`."""
        return {
            "token_type": "bearer",
            "access_token": self.access_token,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
        }


class GrantError(Exception):
    """A refused grant: an OAuth error name and a human description."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class InvalidTokenError(Exception):
    """A bearer token that is malformed, forged, revoked or expired."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json_part(document: Mapping[str, object]) -> str:
    return _b64encode(json.dumps(document, separators=(",", ":")).encode())


def encode_jwt(payload: Mapping[str, object], key: bytes) -> str:
    """Return a compact HS256 JWT for `payload`."""
    signing_input = f"{_json_part(_HEADER)}.{_json_part(payload)}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64encode(signature)}"


def decode_jwt(token: str, key: bytes) -> dict[str, object]:
    """Return the payload of a JWT signed with `key`, or raise InvalidTokenError."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidTokenError("The access token is invalid")
    signing_input = f"{parts[0]}.{parts[1]}"
    expected = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    try:
        valid = hmac.compare_digest(expected, _b64decode(parts[2]))
        payload = json.loads(_b64decode(parts[1])) if valid else None
    except ValueError:  # binascii.Error and JSONDecodeError are both ValueErrors
        payload = None
    if not isinstance(payload, dict):
        raise InvalidTokenError("The access token is invalid")
    return payload


def _field(form: Mapping[str, object], name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str) or not value:
        raise GrantError("invalid_request", f"Missing parameter [{name}]")
    return value


class TokenStore:
    """Issues, verifies and revokes tokens for one account; thread-safe."""

    def __init__(
        self,
        credentials: Credentials,
        now: Callable[[], datetime],
        key: bytes | None = None,
    ) -> None:
        self._creds = credentials
        self._now = now
        # A fresh key per process: tokens never outlive the simulator that issued them.
        self._key = key if key is not None else secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._access: dict[str, int] = {}  # live access token -> exp
        self._refresh: dict[str, int] = {}

    def owner(self, form: Mapping[str, object]) -> int | None:
        """Return the user a token request is made for, if it names one we know."""
        with self._lock:
            if form.get("grant_type") == "refresh_token":
                return self._refresh.get(str(form.get("refresh_token")))
        if form.get("username") == self._creds.username:
            return self._creds.user_id
        return None

    def grant(self, form: Mapping[str, object]) -> Grant:
        """Run a password or refresh_token grant, or raise GrantError."""
        grant_type = _field(form, "grant_type")
        if grant_type not in ("password", "refresh_token"):
            raise GrantError(
                "unsupported_grant_type", f"Grant type [{grant_type}] is not supported"
            )
        self._check_client(form)
        if grant_type == "password":
            self._check_user(form)
            return self._issue(self._creds.user_id)
        return self._issue(self._redeem(_field(form, "refresh_token")))

    def verify(self, token: str) -> int:
        """Return the user id of a live access token, or raise InvalidTokenError."""
        payload = decode_jwt(token, self._key)
        exp = payload.get("exp")
        user_id = payload.get("user_id")
        if not isinstance(exp, int) or not isinstance(user_id, int):
            raise InvalidTokenError("The access token is invalid")
        if self._now().timestamp() >= exp:
            raise InvalidTokenError("The access token has expired")
        with self._lock:
            if token not in self._access:
                raise InvalidTokenError("The access token has been revoked")
        return user_id

    def revoke(self, scope: Literal["access", "all"]) -> None:
        """Invalidate every access token, and with "all" every refresh token too."""
        with self._lock:
            self._access.clear()
            if scope == "all":
                self._refresh.clear()

    def _check_client(self, form: Mapping[str, object]) -> None:
        client_ok = form.get("client_id") == self._creds.client_id
        secret_ok = form.get("client_secret") == self._creds.client_secret
        if not (client_ok and secret_ok):
            raise GrantError("invalid_client", "Client credentials are invalid")

    def _check_user(self, form: Mapping[str, object]) -> None:
        username = _field(form, "username")
        password = _field(form, "password")
        user_ok = secrets.compare_digest(
            username.encode(), self._creds.username.encode()
        )
        password_ok = secrets.compare_digest(
            password.encode(), self._creds.password.encode()
        )
        if not (user_ok and password_ok):
            raise GrantError("invalid_grant", "User credentials are invalid")

    def _redeem(self, refresh_token: str) -> int:
        with self._lock:
            user_id = self._refresh.pop(refresh_token, None)
        if user_id is None:
            raise GrantError("invalid_grant", "Refresh token is invalid.")
        return user_id

    def _issue(self, user_id: int) -> Grant:
        iat = int(self._now().timestamp())
        payload = {
            "user_id": user_id,
            "type": "USER",
            "scope": list(SCOPE),
            "iat": iat,
            "exp": iat + self._creds.token_ttl,
            "iss": "flume_oauth",
            "sub": "",
        }
        access = encode_jwt(payload, self._key)
        refresh = secrets.token_hex(20)
        with self._lock:
            self._access = {t: e for t, e in self._access.items() if e > iat}
            self._access[access] = iat + self._creds.token_ttl
            self._refresh[refresh] = user_id
        return Grant(access, refresh, self._creds.token_ttl)

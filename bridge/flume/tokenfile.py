"""The token file in STATE_DIR: 0600, replaced atomically (temp, fsync, rename)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC
from pathlib import Path

from pydantic import ValidationError

from bridge.flume.schema import StoredToken
from bridge.models import Token
from bridge.statefile import remove_leftovers, temp_prefix, write_atomic

log = logging.getLogger(__name__)

TOKEN_FILE = "flume-token.json"  # noqa: S105 (a file name, not a secret)


class TokenStore:
    """The token file in STATE_DIR: 0600, replaced atomically, ignored if not ours."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / TOKEN_FILE

    def load(self, identity: Mapping[str, str], *, tidy: bool = True) -> Token | None:
        """Return the saved token of this account and API URL, or None.

        Args:
            identity: the API URL, client id and username the token must be for.
            tidy: remove temp files of a writer killed mid-write; only at a start,
                never while another process (`discovery`) may be writing one.
        """
        if tidy:
            self._remove_leftovers()
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            log.warning("ignoring the token file %s: %s", self.path, error)
            return None
        try:
            stored = StoredToken.model_validate_json(text)
        except ValidationError:
            log.warning("ignoring the token file %s: not a token file", self.path)
            return None
        if {k: getattr(stored, k) for k in identity} != dict(identity):
            log.warning(
                "ignoring the token file %s: it is for another account or API URL",
                self.path,
            )
            return None
        return Token(
            access_token=stored.access_token,
            refresh_token=stored.refresh_token,
            user_id=stored.user_id,
            expires_at=stored.expires_at.astimezone(UTC),
            issued_at=stored.issued_at.astimezone(UTC),
        )

    def save(self, token: Token, identity: Mapping[str, str]) -> None:
        """Replace the token file; a failure is logged, the token still used."""
        document = {
            "format": 1,
            **identity,
            "user_id": token.user_id,
            "access_token": token.access_token,
            "refresh_token": token.refresh_token,
            "issued_at": (token.issued_at or token.expires_at).isoformat(),
            "expires_at": token.expires_at.isoformat(),
        }
        try:
            write_atomic(self.path, json.dumps(document, indent=2).encode() + b"\n")
        except OSError as error:
            log.warning(
                "could not save the Flume token in %s (%s); the next start logs in",
                self.path.parent,
                error.strerror or type(error).__name__,
            )

    def _remove_leftovers(self) -> None:
        remove_leftovers(self.path.parent, temp_prefix(self.path))

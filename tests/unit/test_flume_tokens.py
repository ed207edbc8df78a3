"""Token maths, JWT decoding and the token file, without a network."""

from __future__ import annotations

import base64
import json
import logging
import stat
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.errors import FlumeProtocolError
from bridge.flume.schema import TokenGrant
from bridge.flume.tokenfile import TOKEN_FILE
from bridge.flume.tokens import TokenStore, decode_jwt, refresh_due, token_from
from bridge.models import Token

NOW = datetime(2026, 3, 10, 18, 30, tzinfo=UTC)
WEEK = 604800
IDENTITY = {"api_url": "http://127.0.0.1:1", "client_id": "c", "username": "u@x"}


def jwt(claims: dict[str, object]) -> str:
    def part(document: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()

    return f"{part({'alg': 'HS256'})}.{part(claims).rstrip('=')}.c2ln"


def token(n: int = 1) -> Token:
    return Token(
        access_token=f"access-{n}",
        refresh_token=f"refresh-{n}",
        user_id=42,
        expires_at=NOW + timedelta(days=7),
        issued_at=NOW,
    )


def test_the_user_id_comes_from_the_jwt_payload() -> None:
    """The payload is read without a signature check (unpadded base64url)."""
    claims = decode_jwt(jwt({"user_id": 1234, "exp": 99, "iat": 9, "type": "USER"}))
    assert (claims.user_id, claims.exp, claims.iat) == (1234, 99, 9)


@pytest.mark.parametrize(
    "text",
    ["", "a.b", "a.!!!.c", "a.b.c", jwt({"user_id": "1", "exp": 1}), jwt({"exp": 1})],
)
def test_an_unreadable_jwt_is_a_protocol_error(text: str) -> None:
    """Anything but a JWT with an integer user_id and exp is malformed."""
    with pytest.raises(FlumeProtocolError) as caught:
        decode_jwt(text)
    assert text not in str(caught.value) or not text


def test_the_lifetime_is_measured_on_our_clock() -> None:
    """`exp - iat` is added to the receipt time, so host clock skew does not matter."""
    access = jwt({"user_id": 7, "iat": 1_000, "exp": 1_000 + WEEK})
    made = token_from(TokenGrant(access_token=access, refresh_token="r"), NOW)
    assert made.issued_at == NOW
    assert made.expires_at == NOW + timedelta(seconds=WEEK)
    assert made.user_id == 7


def test_without_iat_the_lifetime_is_expires_in() -> None:
    """A token without `iat` lives `expires_in` seconds from receipt."""
    access = jwt({"user_id": 7, "exp": 5})
    grant = TokenGrant(access_token=access, refresh_token="r", expires_in=600)
    assert token_from(grant, NOW).expires_at == NOW + timedelta(seconds=600)


def test_with_only_exp_the_lifetime_runs_to_exp() -> None:
    """Without `iat` and `expires_in`, the token lives until `exp`."""
    exp = int(NOW.timestamp()) + 600
    grant = TokenGrant(access_token=jwt({"user_id": 7, "exp": exp}), refresh_token="r")
    assert token_from(grant, NOW).expires_at == NOW + timedelta(seconds=600)


def test_an_absurd_lifetime_is_capped() -> None:
    """A token claiming to live for ages is still refreshed within 90 days."""
    access = jwt({"user_id": 7, "iat": 0, "exp": 10**18})
    made = token_from(TokenGrant(access_token=access, refresh_token="r"), NOW)
    assert made.expires_at == NOW + timedelta(days=90)


def test_a_token_without_lifetime_is_refused() -> None:
    """A token that is already expired on arrival would refresh forever: refused."""
    access = jwt({"user_id": 7, "iat": 100, "exp": 100})
    with pytest.raises(FlumeProtocolError, match="lifetime"):
        token_from(TokenGrant(access_token=access, refresh_token="r"), NOW)


@pytest.mark.parametrize(
    ("elapsed", "due"),
    [(0, False), (WEEK * 2 // 3 - 1, False), (WEEK * 2 // 3, True), (WEEK + 1, True)],
)
def test_refresh_is_due_after_two_thirds_of_the_lifetime(
    elapsed: int, due: bool
) -> None:
    """A 7-day token is refreshed after about 4.7 days, never later."""
    assert refresh_due(token(), NOW + timedelta(seconds=elapsed)) is due


def test_the_store_round_trips_a_token(tmp_path: Path) -> None:
    """What is saved loads back equal, for the same identity."""
    store = TokenStore(tmp_path / "new" / "dir")
    store.save(token(), IDENTITY)
    assert store.load(IDENTITY) == token()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", b'{"format": 2}', b"\xff\xfe", b""],
    ids=["broken", "list", "other-format", "binary", "empty"],
)
def test_a_corrupt_token_file_is_ignored_with_a_warning(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """An unreadable file means no saved token and one warning, never a crash."""
    (tmp_path / TOKEN_FILE).write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert TokenStore(tmp_path).load(IDENTITY) is None
    assert "ignoring the token file" in caplog.text


@pytest.mark.parametrize("key", ["api_url", "client_id", "username"])
def test_a_token_of_another_account_is_ignored(
    tmp_path: Path, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A token saved for another client, user or API URL is not used."""
    store = TokenStore(tmp_path)
    store.save(token(), {**IDENTITY, key: "other"})
    with caplog.at_level(logging.WARNING):
        assert store.load(IDENTITY) is None
    assert "another account or API URL" in caplog.text
    assert "access-1" not in caplog.text


def test_leftover_temp_files_are_removed(tmp_path: Path) -> None:
    """Temp files of a writer killed before its rename are cleaned up on load."""
    store = TokenStore(tmp_path)
    store.save(token(), IDENTITY)
    (tmp_path / ".flume-token.abc.tmp").write_text("half")
    assert store.load(IDENTITY) == token()
    assert sorted(p.name for p in tmp_path.iterdir()) == [TOKEN_FILE]


def test_a_failed_rename_leaves_no_temp_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """When the rename fails (here: a directory in the way), the temp file goes."""
    (tmp_path / TOKEN_FILE).mkdir()
    with caplog.at_level(logging.WARNING):
        TokenStore(tmp_path).save(token(), IDENTITY)
    assert "could not save the Flume token" in caplog.text
    assert [p.name for p in tmp_path.iterdir()] == [TOKEN_FILE]


def test_a_token_repr_shows_no_secret() -> None:
    """Printing a Token (in a log or a traceback) shows neither token."""
    assert "access-1" not in repr(token())
    assert "refresh-1" not in repr(token())


def test_an_unwritable_state_dir_is_a_warning_not_a_crash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """If the token cannot be saved the bridge goes on; the next start logs in."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with caplog.at_level(logging.WARNING):
        TokenStore(blocker / "state").save(token(), IDENTITY)
    assert "could not save the Flume token" in caplog.text
    assert "access-1" not in caplog.text


@settings(max_examples=100, deadline=None)
@given(
    content=st.binary(max_size=200)
    | st.dictionaries(
        st.sampled_from(["format", "user_id", "access_token", "expires_at", "x"]),
        st.none() | st.integers() | st.text(max_size=30),
    ).map(lambda d: json.dumps({**IDENTITY, **d}).encode())
)
def test_any_token_file_content_loads_or_is_ignored(content: bytes) -> None:
    """Whatever is in the token file, loading gives a token or None, never a crash."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / TOKEN_FILE
        path.write_bytes(content)
        loaded = TokenStore(Path(directory)).load(IDENTITY)
    assert loaded is None or loaded.expires_at.tzinfo is UTC


@settings(max_examples=100, deadline=None)
@given(
    exp=st.integers(min_value=-(2**63), max_value=2**63),
    iat=st.none() | st.integers(min_value=-(2**63), max_value=2**63),
    expires_in=st.none() | st.integers(min_value=-(2**31), max_value=2**63),
)
def test_any_claimed_lifetime_gives_a_token_or_a_protocol_error(
    exp: int, iat: int | None, expires_in: int | None
) -> None:
    """Whatever `exp`, `iat` and `expires_in` say, the result is sane or refused."""
    claims: dict[str, object] = {"user_id": 7, "exp": exp}
    if iat is not None:
        claims["iat"] = iat
    grant = TokenGrant(
        access_token=jwt(claims), refresh_token="r", expires_in=expires_in
    )
    try:
        made = token_from(grant, NOW)
    except FlumeProtocolError:
        return
    assert NOW < made.expires_at <= NOW + timedelta(days=90)
    assert not refresh_due(made, NOW)

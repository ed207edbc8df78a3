"""The simulator's OAuth endpoint and bearer-token lifecycle, over real HTTP."""

from __future__ import annotations

import base64
import json
import logging
import re
from typing import Any

import pytest
import requests

from bridge.simulator.server import Simulator
from tests.support.simulator import PASSWORD_GRANT as GRANT


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def refresh(session: requests.Session, refresh_token: str) -> requests.Response:
    return session.post(
        "/oauth/token",
        json={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": "demo-client",
            "client_secret": "demo-secret",
        },
    )


def test_password_grant_returns_a_flume_envelope_with_a_jwt(
    sim: Simulator, anon: requests.Session
) -> None:
    """A JSON password grant answers 200 with the envelope and a decodable JWT."""
    response = anon.post("/oauth/token", json=GRANT)
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("success", "code", "message", "count")} == {
        "success": True,
        "code": 602,
        "message": "Request OK",
        "count": 1,
    }
    grant = body["data"][0]
    assert grant["token_type"] == "bearer"
    assert grant["expires_in"] == 604800
    assert re.fullmatch(r"[0-9a-f]{40}", grant["refresh_token"])
    payload = claims(grant["access_token"])
    assert payload["user_id"] == sim.model.account.user_id
    assert payload["exp"] - payload["iat"] == 604800
    assert payload["iat"] == int(sim.clock.now().timestamp())
    assert {k: payload[k] for k in ("type", "scope", "iss", "sub")} == {
        "type": "USER",
        "scope": ["read:personal", "update:personal", "query:personal"],
        "iss": "flume_oauth",
        "sub": "",
    }


def test_jwt_header_is_hs256_and_unpadded(anon: requests.Session) -> None:
    """The token is three unpadded base64url parts with an HS256 JWT header."""
    token = anon.post("/oauth/token", json=GRANT).json()["data"][0]["access_token"]
    header, _payload, signature = token.split(".")
    assert "=" not in token
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {
        "alg": "HS256",
        "typ": "JWT",
    }
    assert len(base64.urlsafe_b64decode(signature + "=")) == 32


def test_form_body_and_bare_oauth_object(anon: requests.Session) -> None:
    """A form-encoded grant with ?envelope=false gets the bare OAuth object."""
    response = anon.post("/oauth/token", params={"envelope": "false"}, data=GRANT)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token_type", "access_token", "expires_in", "refresh_token"}


def test_bad_client_is_invalid_client(anon: requests.Session) -> None:
    """Wrong client credentials give Flume's documented 400 invalid_client."""
    response = anon.post("/oauth/token", json={**GRANT, "client_secret": "nope"})
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "message": "invalid_client",
        "http_code": 400,
        "http_message": "Bad Request",
        "detailed": ["Client credentials are invalid"],
        "data": [],
        "count": 0,
        "pagination": None,
    }


@pytest.mark.parametrize("field", ["username", "password"])
def test_bad_user_credentials_are_400(anon: requests.Session, field: str) -> None:
    """A wrong username or password is a 400 (not 401), as openHAB observed."""
    response = anon.post("/oauth/token", json={**GRANT, field: "wrong"})
    assert response.status_code == 400
    assert response.json()["message"] == "invalid_grant"
    assert response.json()["detailed"] == ["User credentials are invalid"]


def test_client_is_checked_before_the_user(anon: requests.Session) -> None:
    """With both client and password wrong, the client error wins."""
    bad = {**GRANT, "client_id": "x", "password": "y"}
    assert anon.post("/oauth/token", json=bad).json()["message"] == "invalid_client"


@pytest.mark.parametrize(
    ("body", "message", "detail"),
    [
        ({**GRANT, "grant_type": "client_credentials"}, "unsupported_grant_type",
         "Grant type [client_credentials] is not supported"),
        ({k: v for k, v in GRANT.items() if k != "grant_type"}, "invalid_request",
         "Missing parameter [grant_type]"),
        ({k: v for k, v in GRANT.items() if k != "username"}, "invalid_request",
         "Missing parameter [username]"),
        ({**GRANT, "grant_type": "refresh_token"}, "invalid_request",
         "Missing parameter [refresh_token]"),
        ([1, 2], "invalid_request", "The request body must be a JSON object"),
    ],
)  # fmt: skip
def test_malformed_grants_are_invalid_request(
    anon: requests.Session, body: object, message: str, detail: str
) -> None:
    """Missing fields, unknown grant types and non-object bodies are 400s."""
    response = anon.post("/oauth/token", json=body)
    assert response.status_code == 400
    assert (response.json()["message"], response.json()["detailed"]) == (
        message,
        [detail],
    )


def test_unparseable_json_is_invalid_request(anon: requests.Session) -> None:
    """A body that is not JSON is a 400 invalid_request."""
    response = anon.post(
        "/oauth/token", data="{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detailed"] == ["The request body is not valid JSON"]


def test_bare_errors_use_the_oauth_shape(anon: requests.Session) -> None:
    """With ?envelope=false a refused grant is {"error", "error_description"}."""
    response = anon.post(
        "/oauth/token?envelope=false", json={**GRANT, "client_id": "x"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "Client credentials are invalid",
    }


def test_bad_envelope_parameter_is_a_validation_error(anon: requests.Session) -> None:
    """?envelope must be a boolean."""
    response = anon.post("/oauth/token?envelope=maybe", json=GRANT)
    assert response.status_code == 400
    assert response.json()["code"] == 94


def test_refresh_gives_new_tokens_and_each_refresh_token_works_once(
    sim: Simulator, anon: requests.Session
) -> None:
    """A refresh grant returns new tokens; reusing a refresh token is refused."""
    first = anon.post("/oauth/token", json=GRANT).json()["data"][0]
    sim.clock.advance(5)
    response = refresh(anon, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()["data"][0]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    again = refresh(anon, first["refresh_token"])
    assert again.status_code == 400
    assert again.json()["detailed"] == ["Refresh token is invalid."]
    assert refresh(anon, second["refresh_token"]).status_code == 200


def test_unknown_refresh_token_is_invalid(anon: requests.Session) -> None:
    """A refresh token the simulator never issued is refused with Flume's detail."""
    response = refresh(anon, "0" * 40)
    assert response.status_code == 400
    assert response.json()["detailed"] == ["Refresh token is invalid."]


def test_old_access_token_survives_a_refresh(
    sim: Simulator, anon: requests.Session, uid: int
) -> None:
    """Issuing new tokens does not revoke the previous access token (Flume docs)."""
    first = anon.post("/oauth/token", json=GRANT).json()["data"][0]
    sim.clock.advance(1)
    refresh(anon, first["refresh_token"]).raise_for_status()
    headers = {"Authorization": f"Bearer {first['access_token']}"}
    assert anon.get(f"/users/{uid}", headers=headers).status_code == 200


def test_access_token_expires_on_the_sim_clock(
    sim_factory: Any, session_for: Any, login_as: Any
) -> None:
    """An access token works until exp and is a 401 from then on."""
    sim = sim_factory(token_ttl=600)
    session = session_for(sim)
    login_as(session)
    path = f"/users/{sim.model.account.user_id}"
    sim.clock.advance(599)
    assert session.get(path).status_code == 200
    sim.clock.advance(1)
    response = session.get(path)
    assert response.status_code == 401
    assert response.json()["message"] == "invalid_token"
    assert response.json()["detailed"] == ["The access token has expired"]
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_missing_bearer_is_flumes_400(anon: requests.Session, uid: int) -> None:
    """No Authorization header gives the documented 400 invalid_request."""
    response = anon.get(f"/users/{uid}/devices")
    assert response.status_code == 400
    assert response.json()["message"] == "invalid_request"
    assert response.json()["detailed"] == ["The access token was not found"]


@pytest.mark.parametrize(
    "header", ["Basic abc", "Bearer", "Bearer not.a.jwt", "Bearer a.b.c.d"]
)
def test_malformed_or_forged_tokens(
    anon: requests.Session, uid: int, header: str
) -> None:
    """A non-bearer scheme is a 400; a bearer that is not our JWT is a 401."""
    response = anon.get(f"/users/{uid}", headers={"Authorization": header})
    expected = 400 if header in ("Basic abc", "Bearer") else 401
    assert response.status_code == expected


def test_token_signed_by_another_simulator_is_rejected(
    sim_factory: Any, session_for: Any, login_as: Any
) -> None:
    """Each simulator signs with its own key, so a foreign token is a 401."""
    first, second = sim_factory(), sim_factory()
    token = login_as(session_for(first))["access_token"]
    session = session_for(second)
    response = session.get(
        f"/users/{second.model.account.user_id}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401
    assert response.json()["detailed"] == ["The access token is invalid"]


def test_revoking_access_tokens_keeps_refresh_tokens(
    sim: Simulator, anon: requests.Session, api: requests.Session, uid: int
) -> None:
    """revoke_tokens "access" 401s live access tokens; a refresh still works."""
    grant = anon.post("/oauth/token", json=GRANT).json()["data"][0]
    anon.post("/_sim/faults", json={"revoke_tokens": "access"}).raise_for_status()
    response = api.get(f"/users/{uid}")
    assert response.status_code == 401
    assert response.json()["detailed"] == ["The access token has been revoked"]
    assert refresh(anon, grant["refresh_token"]).status_code == 200


def test_revoking_all_tokens_forces_a_password_grant(
    sim: Simulator, anon: requests.Session
) -> None:
    """revoke_tokens "all" also kills refresh tokens; the password grant still works."""
    grant = anon.post("/oauth/token", json=GRANT).json()["data"][0]
    result = anon.post("/_sim/faults", json={"revoke_tokens": "all"}).json()
    assert result["revoked"] == "all"
    assert result["added"] is None
    assert refresh(anon, grant["refresh_token"]).status_code == 400
    sim.clock.advance(1)
    assert anon.post("/oauth/token", json=GRANT).status_code == 200


def test_another_users_id_is_forbidden(api: requests.Session, uid: int) -> None:
    """A valid token used on another user's path is a 403."""
    response = api.get(f"/users/{uid + 1}/devices")
    assert response.status_code == 403
    assert response.json()["message"] == (
        "Caller does not have access to the information requested"
    )


def test_no_secret_reaches_the_logs(
    anon: requests.Session, uid: int, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG the simulator logs routes and statuses, never a credential or token."""
    caplog.set_level(logging.DEBUG, logger="bridge.simulator")
    grant = anon.post("/oauth/token", json=GRANT).json()["data"][0]
    headers = {"Authorization": f"Bearer {grant['access_token']}"}
    anon.get(f"/users/{uid}/devices", headers=headers)
    anon.post("/oauth/token", json={**GRANT, "password": "wrong-password"})
    assert "GET /users/{uid}/devices -> 200" in caplog.text
    for secret in (
        grant["access_token"],
        grant["refresh_token"],
        "demo-password",
        "wrong-password",
        "demo-secret",
    ):
        assert secret not in caplog.text

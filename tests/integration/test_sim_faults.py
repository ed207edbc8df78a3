"""Injected faults from /_sim/faults: every kind, matching, lifetime and bad input."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from bridge.simulator.server import Simulator


def add_fault(session: requests.Session, **rule: Any) -> dict[str, Any]:
    response = session.post("/_sim/faults", json=rule)
    assert response.status_code == 200, response.text
    added: dict[str, Any] = response.json()["added"]
    return added


@pytest.fixture
def user_path(uid: int) -> str:
    return f"/users/{uid}"


def test_status_fault_answers_with_an_error_envelope(
    api: requests.Session, user_path: str
) -> None:
    """A status fault replaces the next matching answer with that error, once."""
    add_fault(api, route="/users/*", status=503)
    response = api.get(user_path)
    assert response.status_code == 503
    body = response.json()
    assert (body["success"], body["http_code"], body["message"]) == (
        False,
        503,
        "Service Unavailable",
    )
    assert api.get(user_path).status_code == 200


@pytest.mark.parametrize(
    ("status", "message"),
    [(429, "Too many requests, please try again later."), (401, "invalid_token")],
)
def test_injected_429_and_401_read_like_the_real_ones(
    api: requests.Session, user_path: str, status: int, message: str
) -> None:
    """Injected 429s and 401s carry the same message as the genuine ones."""
    add_fault(api, status=status)
    response = api.get(user_path)
    assert (response.status_code, response.json()["message"]) == (status, message)


def test_retry_after_header(api: requests.Session, user_path: str) -> None:
    """retry_after adds a Retry-After header to the (faulted) answer."""
    add_fault(api, status=429, retry_after=17)
    response = api.get(user_path)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "17"


def test_retry_after_alone_decorates_the_real_answer(
    api: requests.Session, user_path: str
) -> None:
    """Without a status, the genuine answer gets the header."""
    add_fault(api, retry_after=3)
    response = api.get(user_path)
    assert (response.status_code, response.headers["Retry-After"]) == (200, "3")


def test_delay_holds_the_answer_back(api: requests.Session, user_path: str) -> None:
    """A delay fault makes the server wait before answering."""
    add_fault(api, delay=0.3)
    began = time.monotonic()
    assert api.get(user_path).status_code == 200
    assert time.monotonic() - began >= 0.3


def test_delay_beyond_the_client_timeout(api: requests.Session, user_path: str) -> None:
    """A delay longer than the client's timeout surfaces as a read timeout."""
    add_fault(api, delay=1.0)
    with pytest.raises(requests.ReadTimeout):
        api.get(user_path, timeout=0.2)


def test_drop_closes_without_a_response(api: requests.Session, user_path: str) -> None:
    """A drop fault closes the connection; the next request is answered normally."""
    add_fault(api, drop=True)
    with pytest.raises(requests.ConnectionError):
        api.get(user_path)
    assert api.get(user_path).status_code == 200
    by_route = api.get("/_sim/stats").json()["by_route"]
    assert by_route["GET /users/{uid}"]["by_status"] == {"dropped": 1, "200": 1}


def test_malformed_body(api: requests.Session, user_path: str) -> None:
    """A malformed body keeps the status, but the JSON does not parse."""
    add_fault(api, body="malformed")
    response = api.get(user_path)
    assert response.status_code == 200
    assert response.text.endswith(",}")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


def test_truncated_body(api: requests.Session, user_path: str) -> None:
    """A truncated body announces the full length, sends half and hangs up."""
    add_fault(api, body="truncated")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.get(user_path)
    assert api.get(user_path).status_code == 200


def test_empty_body(api: requests.Session, user_path: str) -> None:
    """An empty body sends no bytes at all."""
    add_fault(api, body="empty", status=500)
    response = api.get(user_path)
    assert (response.status_code, response.content) == (500, b"")
    assert response.headers["Content-Length"] == "0"


def test_html_body(api: requests.Session, user_path: str) -> None:
    """An html body is a gateway-style page with the status in its title."""
    add_fault(api, body="html", status=504)
    response = api.get(user_path)
    assert response.status_code == 504
    assert response.headers["Content-Type"] == "text/html"
    assert "<title>504 Gateway Timeout</title>" in response.text


def test_wrong_shape_body(api: requests.Session, user_path: str) -> None:
    """A wrong_shape body is valid JSON whose `data` is not a list."""
    add_fault(api, body="wrong_shape")
    body = api.get(user_path).json()
    assert body["success"] is True
    assert body["data"] == {"unexpected": True}


def test_omit_location_reproduces_the_missing_location_quirk(
    api: requests.Session, uid: int
) -> None:
    """Omitted keys vanish from every data item, like devices without `location`."""
    add_fault(api, route="/users/*/devices", omit=["location", "battery_level"])
    devices = api.get(f"/users/{uid}/devices?location=true").json()["data"]
    assert devices
    assert all("location" not in d and "battery_level" not in d for d in devices)
    again = api.get(f"/users/{uid}/devices?location=true").json()["data"]
    assert all("location" in d for d in again)


def test_count_applies_to_the_next_n_matching_requests(
    api: requests.Session, user_path: str
) -> None:
    """A rule with count N faults exactly N requests."""
    add_fault(api, status=500, count=3)
    codes = [api.get(user_path).status_code for _ in range(4)]
    assert codes == [500, 500, 500, 200]


def test_seconds_apply_until_the_sim_clock_passes(
    sim: Simulator, api: requests.Session, user_path: str
) -> None:
    """A rule with seconds T faults every match for T simulated seconds."""
    rule = add_fault(api, status=502, seconds=60)
    assert rule["count"] is None
    assert rule["until"].startswith("2026-03-10T18:31:15")
    assert [api.get(user_path).status_code for _ in range(3)] == [502] * 3
    sim.clock.advance(59.9)
    assert api.get(user_path).status_code == 502
    sim.clock.advance(0.1)
    assert api.get(user_path).status_code == 200
    assert api.get("/_sim/faults").json() == {"faults": []}


def test_route_glob_and_method_select_requests(
    api: requests.Session, uid: int, sensor_id: str
) -> None:
    """Only requests matching both the path glob and the method are faulted."""
    add_fault(api, route="/users/*/devices/*/query", method="post", status=500)
    assert api.get(f"/users/{uid}/devices").status_code == 200
    assert api.get(f"/users/{uid}/devices/{sensor_id}/query/active").status_code == 200
    response = api.post(f"/users/{uid}/devices/{sensor_id}/query", json={"queries": []})
    assert response.status_code == 500


def test_faults_hit_the_token_endpoint_too(anon: requests.Session) -> None:
    """The default route "*" matches /oauth/token as well."""
    add_fault(anon, status=500)
    assert anon.post("/oauth/token", json={}).status_code == 500


def test_first_matching_rule_wins(api: requests.Session, user_path: str) -> None:
    """Rules are tried in the order they were added."""
    add_fault(api, status=500)
    add_fault(api, status=503)
    assert [api.get(user_path).status_code for _ in range(3)] == [500, 503, 200]


def test_control_routes_are_never_faulted(api: requests.Session) -> None:
    """A catch-all rule leaves /_sim/ alone."""
    add_fault(api, status=500, count=5)
    assert api.get("/_sim/clock").status_code == 200
    assert len(api.get("/_sim/faults").json()["faults"]) == 1


def test_list_and_clear_rules(api: requests.Session) -> None:
    """GET lists the live rules with their settings; DELETE removes them all."""
    add_fault(api, route="/users/*", status=500, count=2, delay=0.5)
    (rule,) = api.get("/_sim/faults").json()["faults"]
    assert rule == {
        "id": 1,
        "route": "/users/*",
        "method": None,
        "count": 2,
        "until": None,
        "status": 500,
        "delay": 0.5,
        "body": None,
        "drop": False,
        "retry_after": None,
        "omit": [],
    }
    assert api.delete("/_sim/faults").json() == {"faults": []}
    assert api.get("/_sim/faults").json() == {"faults": []}


def test_injected_errors_do_not_use_the_budget(
    sim_factory: Any, session_for: Any, login_as: Any
) -> None:
    """A short-circuited request never reaches the rate limiter."""
    sim = sim_factory(rate_limit=2)
    session = session_for(sim)
    login_as(session)
    add_fault(session, status=500, count=5)
    path = f"/users/{sim.model.account.user_id}"
    assert [session.get(path).status_code for _ in range(6)] == [500] * 5 + [200]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"status": 200}, "status must be an integer from 400 to 599"),
        ({"status": "500"}, "status must be an integer from 400 to 599"),
        ({"status": True}, "status must be an integer from 400 to 599"),
        ({"delay": -1}, "delay must be a number from 0 to 120"),
        ({"delay": 500}, "delay must be a number from 0 to 120"),
        ({"body": "garbled"},
         "body must be one of malformed, truncated, empty, html, wrong_shape"),
        ({"drop": "yes"}, "drop must be true or false"),
        ({"omit": "location"}, "omit must be a list of key names"),
        ({"retry_after": -1}, "retry_after must be an integer from 0 to 86400"),
        ({"status": 500, "count": 0}, "count must be an integer from 1 to 1000000"),
        ({"status": 500, "seconds": 0},
         "seconds must be a number from 0.001 to 31622400"),
        ({"status": 500, "count": 1, "seconds": 5},
         "give either count or seconds, not both"),
        ({"status": 500, "route": ""}, "route must be a non-empty string"),
        ({"status": 500, "method": 7}, "method must be a non-empty string"),
        ({"status": 500, "colour": "red"}, "unknown field(s): colour"),
        ({"route": "/users/*"},
         "a fault needs at least one of: status, delay, body, drop, retry_after, omit"),
        ({"revoke_tokens": "some"}, 'revoke_tokens must be "access" or "all"'),
    ],
)  # fmt: skip
def test_bad_fault_json_is_a_clear_400(
    anon: requests.Session, body: dict[str, Any], message: str
) -> None:
    """Every malformed rule is refused with a message naming the problem."""
    response = anon.post("/_sim/faults", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": message, "detailed": None}
    assert anon.get("/_sim/faults").json() == {"faults": []}


@pytest.mark.parametrize("raw", [b"[1]", b"{nope"])
def test_fault_body_must_be_a_json_object(anon: requests.Session, raw: bytes) -> None:
    """A fault request that is not a JSON object is a 400."""
    response = anon.post("/_sim/faults", data=raw)
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


def test_revoke_with_a_rule_does_both(api: requests.Session, user_path: str) -> None:
    """revoke_tokens next to a rule revokes at once and adds the rule."""
    result = api.post(
        "/_sim/faults", json={"revoke_tokens": "access", "status": 500, "route": "/x"}
    ).json()
    assert result["revoked"] == "access"
    assert result["added"]["route"] == "/x"
    assert api.get(user_path).status_code == 401

"""Faults on one series of a query answer (`request_id`): the rest stays genuine."""

from __future__ import annotations

from typing import Any

import pytest
import requests

QUERIES = [
    {
        "request_id": "minutes",
        "bucket": "MIN",
        "since_datetime": "2026-03-10 11:00:00",
        "until_datetime": "2026-03-10 11:04:00",
    },
    {
        "request_id": "today",
        "bucket": "DAY",
        "since_datetime": "2026-03-10 00:00:00",
        "operation": "SUM",
    },
]


def ask(api: requests.Session, uid: int, sensor_id: str) -> dict[str, Any]:
    path = f"/users/{uid}/devices/{sensor_id}/query"
    response = api.post(path, json={"queries": QUERIES})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"][0]
    return data


def fault(api: requests.Session, **rule: Any) -> requests.Response:
    return api.post("/_sim/faults", json={"route": "*/query", **rule})


@pytest.mark.parametrize(
    ("body", "damaged"),
    [
        ("wrong_shape", lambda s: s == {"unexpected": True}),
        ("malformed", lambda s: all(isinstance(p["value"], str) for p in s)),
    ],
)
def test_a_fault_damages_only_its_request_id(
    api: requests.Session, uid: int, sensor_id: str, body: str, damaged: Any
) -> None:
    """`today` comes back damaged, once; `minutes` is the genuine series."""
    genuine = ask(api, uid, sensor_id)
    assert fault(api, request_id="today", body=body).status_code == 200
    found = ask(api, uid, sensor_id)
    assert damaged(found["today"])
    assert found["minutes"] == genuine["minutes"]
    assert ask(api, uid, sensor_id) == genuine  # the rule is used up


def test_omit_with_a_request_id_drops_keys_of_that_series(
    api: requests.Session, uid: int, sensor_id: str
) -> None:
    """`omit: ["datetime"]` on `minutes` leaves its buckets unlabelled."""
    fault(api, request_id="minutes", omit=["datetime"])
    found = ask(api, uid, sensor_id)
    assert [set(p) for p in found["minutes"]] == [{"value"}] * 5


def test_a_series_fault_needs_a_series_kind(api: requests.Session) -> None:
    """Truncated, empty or HTML bodies are whole answers, not one series."""
    response = fault(api, request_id="today", body="html")
    assert response.status_code == 400
    assert "malformed, wrong_shape" in response.text
    listed = fault(api, request_id="today", body="malformed").json()["faults"]
    assert listed[-1]["request_id"] == "today"

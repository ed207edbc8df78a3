"""The simulator's location update: PATCH away_mode, its envelope and its validation."""

from __future__ import annotations

from typing import Any

import pytest
import requests


def location_id(api: requests.Session, uid: int) -> int:
    lid: int = api.get(f"/users/{uid}/locations").json()["data"][0]["id"]
    return lid


def test_patch_sets_away_mode_everywhere_the_location_shows(
    api: requests.Session, uid: int, sensor_id: str
) -> None:
    """612 and no data; the list, the location and each device's copy say true."""
    lid = location_id(api, uid)
    response = api.patch(f"/users/{uid}/locations/{lid}", json={"away_mode": True})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["success"], body["code"], body["data"], body["count"]) == (
        True, 612, [], 0,
    )  # fmt: skip
    assert body["message"] == "Record successfully updated"
    assert api.get(f"/users/{uid}/locations").json()["data"][0]["away_mode"] is True
    one = api.get(f"/users/{uid}/locations/{lid}").json()["data"][0]
    assert one["away_mode"] is True
    params = {"location": "true"}
    (device,) = api.get(f"/users/{uid}/devices/{sensor_id}", params=params).json()[
        "data"
    ]
    assert device["location"]["away_mode"] is True
    api.patch(f"/users/{uid}/locations/{lid}", json={"away_mode": False})
    assert (
        api.get(f"/users/{uid}/locations/{lid}").json()["data"][0]["away_mode"] is False
    )


@pytest.mark.parametrize(
    "body",
    [
        {"away_mode": "true"},
        {"away_mode": 1},
        {"away_mode": None},
        {},
        {"name": "Cabin"},
        {"away_mode": True, "tz": "UTC"},
        [True],
        "away",
    ],
)
def test_a_bad_body_is_refused_with_code_94_and_changes_nothing(
    api: requests.Session, uid: int, body: Any
) -> None:
    """Not a boolean away_mode, or another field: 400 code 94, away_mode unchanged."""
    lid = location_id(api, uid)
    response = api.patch(f"/users/{uid}/locations/{lid}", json=body)
    assert response.status_code == 400, response.text
    assert (response.json()["success"], response.json()["code"]) == (False, 94)
    assert (
        api.get(f"/users/{uid}/locations/{lid}").json()["data"][0]["away_mode"] is False
    )


def test_a_body_that_is_not_json_is_refused(api: requests.Session, uid: int) -> None:
    """A PATCH with a body that is not JSON is a validation error."""
    lid = location_id(api, uid)
    response = api.patch(f"/users/{uid}/locations/{lid}", data=b"away_mode=1")
    assert (response.status_code, response.json()["code"]) == (400, 94)


def test_an_unknown_location_is_404_and_no_token_is_401(
    api: requests.Session, anon: requests.Session, uid: int
) -> None:
    """Code 610 for a location that is not the user's; no token, no change."""
    response = api.patch(f"/users/{uid}/locations/999999", json={"away_mode": True})
    assert (response.status_code, response.json()["code"]) == (404, 610)
    lid = location_id(api, uid)
    refused = anon.patch(f"/users/{uid}/locations/{lid}", json={"away_mode": True})
    assert refused.status_code in (400, 401)  # the guard's answer to no token
    assert (
        api.get(f"/users/{uid}/locations/{lid}").json()["data"][0]["away_mode"] is False
    )

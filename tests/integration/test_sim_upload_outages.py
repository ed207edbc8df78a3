"""Upload outages over real HTTP: late minutes, frozen devices, the control route."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from bridge.simulator.account import PlannedOutage
from bridge.simulator.server import Simulator
from tests.support.simulator import START, truth

LA = ZoneInfo("America/Los_Angeles")
FORMAT = "%Y-%m-%d %H:%M:%S"
MINUTE = timedelta(minutes=1)
T1 = START.replace(second=0) + timedelta(minutes=30)
T2 = T1 + timedelta(hours=2)


def z(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def series(
    api: requests.Session, uid: int, sensor: str, since: datetime, n: int
) -> Any:
    query = {
        "request_id": "min",
        "bucket": "MIN",
        "since_datetime": since.astimezone(LA).strftime(FORMAT),
        "until_datetime": (since + (n - 1) * MINUTE).astimezone(LA).strftime(FORMAT),
    }
    response = api.post(
        f"/users/{uid}/devices/{sensor}/query", json={"queries": [query]}
    )
    assert response.status_code == 200, response.text
    return [item["value"] for item in response.json()["data"][0]["min"]]


def device(api: requests.Session, uid: int, device_id: str) -> Any:
    return api.get(f"/users/{uid}/devices/{device_id}").json()["data"][0]


def test_minutes_arrive_late_with_their_true_values(
    sim_factory: Any, session_for: Any, login_as: Any
) -> None:
    """Held minutes read 0 and devices read offline; after T2 + latency all is true."""
    sim: Simulator = sim_factory(leak=True)
    api = session_for(sim)
    login_as(api)
    uid, sensor = sim.model.account.user_id, sim.model.account.sensors[0]
    added = api.post(
        "/_sim/outages", json={"device_id": sensor.id, "since": z(T1), "until": z(T2)}
    )
    assert added.json()["outages"] == [
        {
            "device_id": sensor.id,
            "since": z(T1),
            "until": z(T2),
            "ongoing": False,
            "held": True,
        }
    ]
    sim.clock.set(T2 - 5 * MINUTE)
    for device_id in (sensor.id, str(sensor.bridge_id)):
        seen = device(api, uid, device_id)
        assert (seen["connected"], seen["last_seen"]) == (False, z(T1)[:-1] + ".000Z")
    assert set(series(api, uid, sensor.id, T1, 110)) == {0}
    sim.clock.set(T2 + 2 * MINUTE)  # the default latency is two minutes
    assert device(api, uid, sensor.id)["connected"] is True
    values = series(api, uid, sensor.id, T1, 120)
    minutes = [
        truth(sim, sensor.id, T1 + k * MINUTE, T1 + (k + 1) * MINUTE)
        for k in range(120)
    ]
    assert values == minutes
    assert sum(values) == truth(sim, sensor.id, T1, T2) > 0
    listed = api.get("/_sim/outages").json()["outages"]
    assert (listed[0]["ongoing"], listed[0]["held"]) == (False, False)


def test_an_open_outage_is_released_on_request(
    sim_factory: Any, session_for: Any, login_as: Any
) -> None:
    """Without until an outage lasts; release ends it and DELETE forgets them all."""
    sim: Simulator = sim_factory(leak=True)
    api = session_for(sim)
    login_as(api)
    uid, sensor = sim.model.account.user_id, sim.model.account.sensors[0].id
    api.post("/_sim/outages", json={"device_id": sensor, "since": z(T1)})
    sim.clock.set(T1 + timedelta(hours=20, seconds=10))
    assert set(series(api, uid, sensor, T1, 60)) == {0}
    released = api.post("/_sim/outages", json={"device_id": sensor, "release": True})
    assert released.json()["released"] == 1
    end = T1 + timedelta(hours=20, minutes=1)
    assert released.json()["outages"][0]["until"] == z(end)
    sim.clock.set(end + 2 * MINUTE)
    assert series(api, uid, sensor, T1, 60)[0] > 0
    api.post("/_sim/outages", json={"device_id": sensor, "since": z(T1)})
    assert api.delete("/_sim/outages").json() == {"outages": []}
    assert series(api, uid, sensor, T1, 60)[0] > 0


def test_outages_planned_in_the_config_are_listed(
    sim_factory: Any, session_for: Any
) -> None:
    """SimConfig.outages (the --outage option) appear under /_sim/outages."""
    sim: Simulator = sim_factory(sensors=2, outages=(PlannedOutage(2, T1, T2),))
    listed = session_for(sim).get("/_sim/outages").json()["outages"]
    assert [(o["device_id"], o["since"]) for o in listed] == [
        (sim.model.account.sensors[1].id, z(T1))
    ]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (
            {"device_id": "404", "since": "2026-03-10T18:00:00Z"},
            404,
            "unknown device_id",
        ),
        (
            {"device_id": "BRIDGE", "since": "2026-03-10T18:00:00Z"},
            400,
            "not a water sensor",
        ),
        ({"device_id": "SENSOR"}, 400, "give"),
        ({"device_id": "SENSOR", "since": None}, 400, "since is required"),
        ({"device_id": "SENSOR", "since": "x"}, 400, "since must be ISO-8601"),
        (
            {
                "device_id": "SENSOR",
                "since": "2026-03-10T18:00:00Z",
                "until": "2026-03-10T17:00:00Z",
            },
            400,
            "an outage must end after it starts",
        ),
        (
            {"device_id": "SENSOR", "release": True, "since": "2026-03-10T18:00:00Z"},
            400,
            "give",
        ),
        ({"device_id": "SENSOR", "hours": 2}, 400, "give"),
    ],
)
def test_bad_outage_requests_are_refused(
    sim: Simulator,
    anon: requests.Session,
    body: dict[str, Any],
    status: int,
    error: str,
) -> None:
    """Unknown devices 404; bridges, bad times and unknown keys 400, nothing added."""
    sensor = sim.model.account.sensors[0]
    names = {"SENSOR": sensor.id, "BRIDGE": str(sensor.bridge_id)}
    body = {**body, "device_id": names.get(body["device_id"], body["device_id"])}
    response = anon.post("/_sim/outages", json=body)
    assert response.status_code == status
    assert error in response.json()["error"]
    assert anon.get("/_sim/outages").json() == {"outages": []}


def test_notifications_tell_the_bridge_went_and_came_back(
    sim_factory: Any, session_for: Any, login_as: Any
) -> None:
    """GET notifications?type=8 lists the Bridge's disconnection and its return."""
    sim: Simulator = sim_factory()
    api = session_for(sim)
    login_as(api)
    sensor = sim.model.account.sensors[0]
    api.post(
        "/_sim/outages", json={"device_id": sensor.id, "since": z(T1), "until": z(T2)}
    )
    sim.clock.set(T2 + MINUTE)
    uid = sim.model.account.user_id
    answer = api.get(f"/users/{uid}/notifications?type=8&sort_direction=DESC").json()
    assert [
        (n["device_id"], n["title"], n["created_datetime"], n["extra"]["connected"])
        for n in answer["data"]
    ] == [
        (sensor.bridge_id, "Device Reconnected", z(T2)[:-1] + ".000Z", True),
        (sensor.bridge_id, "Device Disconnected", z(T1)[:-1] + ".000Z", False),
    ]

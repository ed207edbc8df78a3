"""The /_sim/ control routes, and the transport's edge cases."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from bridge.simulator.envelope import Reply
from bridge.simulator.httpd import SimHTTPServer
from bridge.simulator.routing import Request
from bridge.simulator.server import Simulator


def truth(session: requests.Session, device_id: str, since: str, until: str) -> Any:
    params = {"device_id": device_id, "since": since, "until": until}
    return session.get("/_sim/truth", params=params)


def test_truth_is_the_exact_volume(
    sim: Simulator, anon: requests.Session, sensor_id: str
) -> None:
    """/_sim/truth answers the model's exact gallons between two UTC instants."""
    response = truth(anon, sensor_id, "2026-03-09T00:00:00Z", "2026-03-10T00:00:00Z")
    assert response.status_code == 200
    body = response.json()
    expected = sim.model.truth(
        sensor_id,
        datetime(2026, 3, 9, tzinfo=UTC),
        datetime(2026, 3, 10, tzinfo=UTC),
    )
    assert body == {
        "device_id": sensor_id,
        "since": "2026-03-09T00:00:00Z",
        "until": "2026-03-10T00:00:00Z",
        "gallons": expected,
    }
    assert expected > 0


def test_truth_accepts_offsets_and_an_unencoded_plus(
    anon: requests.Session, sensor_id: str
) -> None:
    """Offsets are normalised to Z; a "+" that arrived as a space still parses."""
    with_offset = truth(
        anon, sensor_id, "2026-03-08T16:00:00-08:00", "2026-03-09T01:00:00+01:00"
    ).json()
    assert (with_offset["since"], with_offset["until"]) == (
        "2026-03-09T00:00:00Z",
        "2026-03-09T00:00:00Z",
    )
    assert with_offset["gallons"] == 0
    raw = anon.get(
        f"/_sim/truth?device_id={sensor_id}"
        "&since=2026-03-09T00:00:00+00:00&until=2026-03-09T06:00:00+00:00"
    )
    assert raw.json()["until"] == "2026-03-09T06:00:00Z"


def test_truth_matches_a_day_sum_query(
    sim: Simulator, api: requests.Session, uid: int, sensor_id: str
) -> None:
    """A DAY SUM over a finished local day equals /_sim/truth for that day."""
    zone = ZoneInfo("America/Los_Angeles")
    since = datetime(2026, 3, 8, tzinfo=zone)  # the 23-hour spring-forward day
    until = datetime(2026, 3, 9, tzinfo=zone)
    query = {
        "request_id": "day",
        "bucket": "DAY",
        "operation": "SUM",
        "since_datetime": "2026-03-08 00:00:00",
        "until_datetime": "2026-03-08 23:59:00",
    }
    path = f"/users/{uid}/devices/{sensor_id}/query"
    (value,) = api.post(path, json={"queries": [query]}).json()["data"][0]["day"]
    exact = truth(
        api,
        sensor_id,
        since.astimezone(UTC).isoformat(),
        until.astimezone(UTC).isoformat(),
    ).json()
    assert value["value"] == exact["gallons"]


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({"since": "2026-03-09T00:00:00Z", "until": "2026-03-10T00:00:00Z"}, 404,
         "unknown device_id"),
        ({"device_id": "{sensor}", "until": "2026-03-10T00:00:00Z"}, 400,
         "since is required (ISO-8601 with Z or an offset)"),
        ({"device_id": "{sensor}", "since": "2026-03-09T00:00:00",
          "until": "2026-03-10T00:00:00Z"}, 400,
         "since must be ISO-8601 with Z or an offset, got '2026-03-09T00:00:00'"),
        ({"device_id": "{sensor}", "since": "2026-03-09T00:00:00Z",
          "until": "tomorrow"}, 400,
         "until must be ISO-8601 with Z or an offset, got 'tomorrow'"),
        ({"device_id": "{sensor}", "since": "2026-03-10T00:00:00Z",
          "until": "2026-03-09T00:00:00Z"}, 400, "until must not be before since"),
        ({"device_id": "{bridge}", "since": "2026-03-09T00:00:00Z",
          "until": "2026-03-10T00:00:00Z"}, 400,
         "device {bridge} is not a water sensor"),
    ],
)  # fmt: skip
def test_truth_input_errors(
    anon: requests.Session,
    sensor_id: str,
    bridge_id: str,
    params: dict[str, str],
    status: int,
    error: str,
) -> None:
    """Missing, naive, unparseable or reversed times and wrong devices are refused."""
    filled = {
        k: v.format(sensor=sensor_id, bridge=bridge_id) for k, v in params.items()
    }
    response = anon.get("/_sim/truth", params=filled)
    assert response.status_code == status
    assert response.json()["error"] == error.format(bridge=bridge_id)


def test_stats_count_per_route_template_and_status(
    api: requests.Session, uid: int, sensor_id: str
) -> None:
    """Requests are counted under their route template and status, then reset."""
    api.get(f"/users/{uid}/devices/{sensor_id}")
    api.get(f"/users/{uid}/devices/000")
    api.get("/nowhere")
    api.get("/_sim/clock")  # control routes are not counted
    stats = api.get("/_sim/stats").json()
    assert stats["total"] == 4  # the login, two device calls and the stray path
    assert stats["by_status"] == {"200": 2, "404": 2}
    assert stats["by_route"]["GET /users/{uid}/devices/{did}"] == {
        "total": 2,
        "by_status": {"200": 1, "404": 1},
    }
    assert stats["by_route"]["POST /oauth/token"]["total"] == 1
    assert stats["by_route"]["GET (no route)"]["by_status"] == {"404": 1}
    reset = api.delete("/_sim/stats").json()
    assert (reset["total"], reset["by_route"]) == (0, {})


def test_clock_read_advance_and_set(sim: Simulator, anon: requests.Session) -> None:
    """The clock reads as UTC ISO, advances by seconds and jumps to an instant."""
    assert anon.get("/_sim/clock").json() == {"now": "2026-03-10T18:30:15Z"}
    advanced = anon.post("/_sim/clock", json={"advance": 45}).json()
    assert advanced == {"now": "2026-03-10T18:31:00Z"}
    jumped = anon.post("/_sim/clock", json={"set": "2026-01-01T00:00:00+01:00"}).json()
    assert jumped == {"now": "2025-12-31T23:00:00Z"}
    assert sim.clock.now() == datetime(2025, 12, 31, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [{}, {"advance": -1}, {"advance": "60"}, {"advance": True},
     {"advance": 1, "set": "2026-01-01T00:00:00Z"}, {"set": "2026-01-01"},
     {"speed": 2}],
)  # fmt: skip
def test_clock_errors(anon: requests.Session, body: dict[str, Any]) -> None:
    """Anything but one non-negative advance or one aware instant is a 400."""
    response = anon.post("/_sim/clock", json=body)
    assert response.status_code == 400
    assert anon.get("/_sim/clock").json() == {"now": "2026-03-10T18:30:15Z"}


def test_disconnecting_a_bridge(
    sim: Simulator, api: requests.Session, uid: int, bridge_id: str
) -> None:
    """connected=false freezes last_seen and raises a heartbeat notification."""
    response = api.post(f"/_sim/devices/{bridge_id}", json={"connected": False})
    assert response.status_code == 200
    assert response.json()["connected"] is False
    sim.clock.advance(3600)
    (device,) = api.get(f"/users/{uid}/devices/{bridge_id}").json()["data"]
    assert device["connected"] is False
    assert device["last_seen"] == "2026-03-10T18:30:15.000Z"
    (note,) = api.get(f"/users/{uid}/notifications", params={"type": 8}).json()["data"]
    assert note["extra"]["connected"] is False
    assert note["device_id"] == bridge_id


@pytest.mark.parametrize(
    ("target", "body", "status"),
    [
        ("{sensor}", {}, 400),
        ("{sensor}", {"colour": "red"}, 400),
        ("{sensor}", {"connected": "no"}, 400),
        ("{sensor}", {"battery_level": "empty"}, 400),
        ("{bridge}", {"battery_level": "low"}, 400),
        ("123", {"connected": True}, 404),
    ],
)
def test_device_control_errors(
    anon: requests.Session,
    sensor_id: str,
    bridge_id: str,
    target: str,
    body: dict[str, Any],
    status: int,
) -> None:
    """Unknown keys, bad values, bridge batteries and unknown devices are refused."""
    did = target.format(sensor=sensor_id, bridge=bridge_id)
    assert anon.post(f"/_sim/devices/{did}", json=body).status_code == status


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"device_id": "{sensor}"}, 400),
        ({"device_id": "{sensor}", "gallons_per_minute": 0}, 400),
        ({"device_id": "{sensor}", "gallons_per_minute": 1000}, 400),
        ({"device_id": "{sensor}", "gallons_per_minute": "0.1"}, 400),
        ({"device_id": "{sensor}", "stop": "yes"}, 400),
        ({"device_id": "{sensor}", "rate": 1}, 400),
        ({"device_id": "{bridge}", "gallons_per_minute": 0.1}, 400),
        ({"device_id": "123", "gallons_per_minute": 0.1}, 404),
        ({"gallons_per_minute": 0.1}, 404),
    ],
)
def test_leak_control_errors(
    anon: requests.Session,
    sensor_id: str,
    bridge_id: str,
    body: dict[str, Any],
    status: int,
) -> None:
    """Leak requests need a known sensor and a rate above 0 up to 100 gpm."""
    filled = {
        k: v.format(sensor=sensor_id, bridge=bridge_id) if isinstance(v, str) else v
        for k, v in body.items()
    }
    assert anon.post("/_sim/leak", json=filled).status_code == status


def test_a_started_leak_adds_water_to_the_truth(
    sim: Simulator, anon: requests.Session, sensor_id: str
) -> None:
    """A 1 gpm leak adds exactly one gallon per minute to /_sim/truth."""
    since = "2026-03-10T18:31:00Z"
    until = "2026-03-10T18:41:00Z"
    before = truth(anon, sensor_id, since, until).json()["gallons"]
    anon.post(
        "/_sim/leak", json={"device_id": sensor_id, "gallons_per_minute": 1}
    ).raise_for_status()
    after = truth(anon, sensor_id, since, until).json()["gallons"]
    assert after - before == 10


def test_account_lists_ids_zones_and_demo_credentials(
    sim_factory: Any, session_for: Any
) -> None:
    """/_sim/account shows the layout a client needs to find its way."""
    sim = sim_factory(sensors=2, timezones=("Europe/Berlin", "Asia/Tokyo"))
    account = session_for(sim).get("/_sim/account").json()
    assert account["user_id"] == sim.model.account.user_id
    assert account["username"] == "demo@example.com"
    assert account["client_id"] == "demo-client"
    assert [loc["tz"] for loc in account["locations"]] == [
        "Europe/Berlin",
        "Asia/Tokyo",
    ]
    assert len(account["devices"]) == 4
    assert {d["tz"] for d in account["devices"]} == {"Europe/Berlin", "Asia/Tokyo"}


def test_unknown_control_route(anon: requests.Session) -> None:
    """An unknown /_sim/ path is a plain JSON 404 (no Flume envelope)."""
    response = anon.get("/_sim/nothing")
    assert response.status_code == 404
    assert set(response.json()) == {"error", "detailed"}
    assert anon.put("/_sim/clock").status_code == 405


def test_chunked_request_bodies_are_read(
    api: requests.Session, uid: int, sensor_id: str
) -> None:
    """A chunked query body (no Content-Length) is reassembled."""
    chunks = iter([b'{"queries": [{"request_id": "a", ', b'"bucket": "HR", ',
                   b'"since_datetime": "2026-03-10 08:00:00"}]}'])  # fmt: skip
    response = api.post(f"/users/{uid}/devices/{sensor_id}/query", data=chunks)
    assert response.status_code == 200, response.text
    assert len(response.json()["data"][0]["a"]) >= 1


def raw_exchange(sim: Simulator, request: bytes) -> bytes:
    host, port = sim.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (b"Content-Length: abc\r\n", b"400"),
        (b"Content-Length: -5\r\n", b"400"),
        (b"Content-Length: 99999999\r\n", b"413"),
        (b"Transfer-Encoding: chunked\r\n", b"400"),
    ],
)
def test_unreadable_bodies_close_the_connection(
    sim: Simulator, headers: bytes, status: bytes
) -> None:
    """Bad lengths and bad chunking get an error and a closed connection."""
    reply = raw_exchange(
        sim, b"POST /oauth/token HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\nzz\r\n"
    )
    assert reply.startswith(b"HTTP/1.1 " + status)
    assert b"Content-Length: " in reply


def test_chunked_bodies_with_trailers_and_limits(sim: Simulator) -> None:
    """Trailers after the last chunk are skipped; an oversized chunk is a 413."""
    body = b'{"grant_type": "password"}'
    chunked = b"%x\r\n%s\r\n0\r\nX-Trailer: yes\r\n\r\n" % (len(body), body)
    reply = raw_exchange(
        sim,
        b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n" + chunked,
    )
    assert reply.startswith(b"HTTP/1.1 400")
    assert b"Missing parameter [client_id]" not in reply  # the client is checked first
    assert b"Client credentials are invalid" in reply
    huge = raw_exchange(
        sim,
        b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"200000\r\n",
    )
    assert huge.startswith(b"HTTP/1.1 413")


def test_root_path_is_an_enveloped_404(sim: Simulator) -> None:
    """GET / is an unknown route, answered in Flume's envelope."""
    reply = raw_exchange(sim, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 404")
    assert b'"success":false' in reply


def test_a_crashing_application_answers_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unexpected exception becomes a logged 500, and the server keeps serving."""

    def broken(request: Request) -> Reply:
        raise RuntimeError(request.path)

    server = SimHTTPServer(("127.0.0.1", 0), broken)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        for _ in range(2):
            with requests.get(f"http://127.0.0.1:{port}/boom", timeout=5) as response:
                assert response.status_code == 500
                assert response.json()["message"] == "Internal Server Error"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert "unexpected error in GET /boom" in caplog.text

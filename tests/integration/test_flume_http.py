"""FlumeHttp against the simulator: every failure becomes a typed bridge error."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests

from bridge.errors import (
    FlumeAuthError,
    FlumeError,
    FlumeProtocolError,
    FlumeRateLimitError,
    FlumeUnavailableError,
)
from bridge.flume.budget import RequestBudget
from bridge.flume.http import FlumeHttp
from bridge.simulator.server import Simulator
from tests.support.flume import (
    Wiring,
    WiringFactory,
    add_fault,
    route_count,
    sim_stats,
)
from tests.support.simulator import PASSWORD_GRANT

DEVICES = "GET /users/{uid}/devices"


@pytest.fixture
def flume(sim: Simulator, wire: WiringFactory) -> Wiring:
    """A logged-in transport on `sim` with a short timeout."""
    wiring = wire(sim, timeout=0.5)
    wiring.tokens.access_token()
    return wiring


def get_devices(flume: Wiring) -> Any:
    path = f"/users/{flume.tokens.user_id}/devices"
    return flume.http.request("GET", path, token=flume.tokens.access_token())


FAULTS = [
    ({"status": 500}, FlumeUnavailableError, 500),
    ({"status": 503, "body": "html"}, FlumeUnavailableError, 503),
    ({"status": 504}, FlumeUnavailableError, 504),
    ({"drop": True}, FlumeUnavailableError, None),
    ({"delay": 1.5}, FlumeUnavailableError, None),
    ({"body": "malformed"}, FlumeProtocolError, 200),
    ({"body": "html"}, FlumeProtocolError, 200),
    ({"body": "truncated"}, FlumeProtocolError, None),
    ({"body": "empty"}, FlumeProtocolError, 200),
    ({"body": "wrong_shape"}, FlumeProtocolError, 200),
    ({"status": 400}, FlumeProtocolError, 400),
    ({"status": 404}, FlumeProtocolError, 404),
    ({"status": 401}, FlumeAuthError, 401),
    ({"status": 403}, FlumeProtocolError, 403),
]


def fault_id(value: object) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return getattr(value, "__name__", str(value))


@pytest.mark.parametrize(("fault", "error", "status"), FAULTS, ids=fault_id)
def test_each_failure_maps_to_one_typed_error(
    sim: Simulator,
    flume: Wiring,
    fault: dict[str, Any],
    error: type[FlumeError],
    status: int | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A faulty answer raises the error of the mapping table, with its status."""
    add_fault(sim, route="*/devices", **fault)
    with (
        caplog.at_level(logging.DEBUG, logger="bridge.flume.http"),
        pytest.raises(FlumeError) as caught,
    ):
        get_devices(flume)
    assert type(caught.value) is error
    assert caught.value.status == status
    logged = [r.getMessage() for r in caplog.records if r.name == "bridge.flume.http"]
    assert logged[-1].startswith(f"GET /users/{flume.tokens.user_id}/devices")
    assert get_devices(flume).success  # the next request is fine again


def test_a_429_pauses_the_budget_for_retry_after(sim: Simulator, flume: Wiring) -> None:
    """A 429 with Retry-After pauses the budget for that long and raises."""
    add_fault(sim, route="*/devices", status=429, retry_after=30)
    with pytest.raises(FlumeRateLimitError) as caught:
        get_devices(flume)
    assert caught.value.retry_after == 30.0
    assert caught.value.status == 429
    assert flume.budget.pauses == [30.0]


def test_a_429_without_retry_after_lets_the_budget_back_off(
    sim: Simulator, flume: Wiring
) -> None:
    """A bare 429 pauses the budget with no hint, leaving the backoff to it."""
    add_fault(sim, route="*/devices", status=429)
    with pytest.raises(FlumeRateLimitError) as caught:
        get_devices(flume)
    assert caught.value.retry_after is None
    assert flume.budget.pauses == [None]


def test_no_request_is_sent_without_budget(sim: Simulator, flume: Wiring) -> None:
    """When the budget refuses, nothing reaches Flume and the refusal is raised."""
    token = flume.tokens.access_token()
    before = sim_stats(sim)["total"]
    flume.budget.refuse = True
    with pytest.raises(FlumeRateLimitError) as caught:
        flume.http.request("GET", f"/users/{flume.tokens.user_id}", token=token)
    assert caught.value.status is None
    assert sim_stats(sim)["total"] == before


def test_every_request_is_counted_and_successes_reported(
    sim: Simulator, flume: Wiring
) -> None:
    """Each request takes one unit of budget; answered ones report success."""
    get_devices(flume)
    add_fault(sim, route="*/devices", status=500)
    with pytest.raises(FlumeUnavailableError):
        get_devices(flume)
    assert flume.budget.acquired == sim_stats(sim)["total"] == 3
    assert flume.budget.essential == 1  # the login may use the token reserve
    assert flume.budget.successes == 2


def test_the_real_budget_sends_nothing_during_a_429_pause(sim: Simulator) -> None:
    """Through RequestBudget, a 429's Retry-After holds back the next request."""
    clock = [0.0]
    budget = RequestBudget(100, now=lambda: clock[0])
    with requests.Session() as session:
        http = FlumeHttp(session, sim.url, 5.0, budget)
        add_fault(sim, route="/oauth/token", status=429, retry_after=120)
        for _ in range(2):
            with pytest.raises(FlumeRateLimitError):
                http.request("POST", "/oauth/token", body=PASSWORD_GRANT)
        assert sim_stats(sim)["total"] == 1
        clock[0] = 121.0
        assert http.request("POST", "/oauth/token", body=PASSWORD_GRANT).success
    assert budget.used() == 2


def test_flume_error_text_is_kept_short_in_the_message(
    sim: Simulator, flume: Wiring
) -> None:
    """A 404 names the route (not the ids) and quotes Flume's own message."""
    token = flume.tokens.access_token()
    path = f"/users/{flume.tokens.user_id}/devices/123"
    with pytest.raises(FlumeProtocolError) as caught:
        flume.http.request("GET", path, token=token)
    assert str(caught.value) == f"GET {path}: HTTP 404: Record could not be found"
    assert route_count(sim, "GET /users/{uid}/devices/{did}") == 1


def test_a_refused_connection_is_unavailable(sim: Simulator, flume: Wiring) -> None:
    """With the simulator gone, a request fails as unavailable, not with a crash."""
    token = flume.tokens.access_token()
    sim.stop()
    with pytest.raises(FlumeUnavailableError, match="ConnectionError"):
        flume.http.request("GET", "/users/1", token=token)

"""Token lifecycle against the simulator: login, reuse, refresh, fallback, refusal."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bridge.errors import FlumeAuthError, FlumeRateLimitError, FlumeUnavailableError
from bridge.flume.tokens import Credentials
from bridge.simulator.server import Simulator
from tests.support.flume import DEMO, WiringFactory, add_fault, sim_stats
from tests.support.simulator import SimFactory

TOKEN_ROUTE = "POST /oauth/token"
TTL = 3600


def token_calls(sim: Simulator) -> dict[str, int]:
    """Answered token requests by status, e.g. {"200": 1, "400": 1}."""
    route: dict[str, Any] = sim_stats(sim)["by_route"].get(TOKEN_ROUTE, {})
    return dict(route.get("by_status", {}))


def saved(state_dir: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((state_dir / "flume-token.json").read_text())
    return document


def test_first_start_logs_in_once(
    sim: Simulator, wire: WiringFactory, tmp_path: Path
) -> None:
    """However often the token is asked for, the first start makes one grant."""
    tokens = wire(sim, tmp_path).tokens
    first = tokens.access_token()
    assert tokens.user_id == sim.model.account.user_id
    assert [tokens.access_token() for _ in range(3)] == [first] * 3
    assert token_calls(sim) == {"200": 1}


def test_a_second_start_makes_no_token_request(
    sim: Simulator, wire: WiringFactory, tmp_path: Path
) -> None:
    """A restart with the same STATE_DIR reuses the saved token: zero token calls."""
    first = wire(sim, tmp_path).tokens.access_token()
    restarted = wire(sim, tmp_path).tokens
    assert restarted.access_token() == first
    assert restarted.user_id == sim.model.account.user_id
    assert token_calls(sim) == {"200": 1}


def test_the_token_file_is_private(
    sim: Simulator, wire: WiringFactory, tmp_path: Path
) -> None:
    """The token file is mode 0600 in a directory only its owner can enter."""
    state_dir = tmp_path / "state"
    wire(sim, state_dir).tokens.access_token()
    assert stat.S_IMODE((state_dir / "flume-token.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    assert list(state_dir.iterdir()) == [state_dir / "flume-token.json"]


def test_refresh_happens_before_expiry(
    sim_factory: SimFactory, wire: WiringFactory, tmp_path: Path
) -> None:
    """After two thirds of the lifetime the token is refreshed, well before `exp`."""
    sim = sim_factory(token_ttl=TTL)
    tokens = wire(sim, tmp_path).tokens
    old = tokens.access_token()
    old_refresh = saved(tmp_path)["refresh_token"]
    sim.clock.advance(TTL * 2 / 3 - 60)
    assert tokens.access_token() == old
    sim.clock.advance(120)  # 20 minutes before the old token expires
    new = tokens.access_token()
    assert new != old
    assert token_calls(sim) == {"200": 2}
    assert saved(tmp_path)["access_token"] == new
    assert old_refresh not in json.dumps(saved(tmp_path))  # the old grant is gone


def test_a_saved_expired_token_is_refreshed_not_replaced_by_a_login(
    sim_factory: SimFactory, wire: WiringFactory, tmp_path: Path
) -> None:
    """A restart after the access token expired costs one refresh, not a login."""
    sim = sim_factory(token_ttl=TTL)
    wire(sim, tmp_path).tokens.access_token()
    sim.clock.advance(TTL + 1)
    restarted = wire(sim, tmp_path).tokens
    restarted.access_token()
    assert token_calls(sim) == {"200": 2}
    assert sim_stats(sim)["total"] == 2


def test_a_rejected_refresh_falls_back_to_one_password_grant(
    sim: Simulator,
    wire: WiringFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When Flume refuses the refresh token, one password grant follows, no more."""
    tokens = wire(sim, tmp_path).tokens
    tokens.access_token()
    add_fault(sim, revoke_tokens="all")
    with caplog.at_level(logging.WARNING):
        tokens.force_refresh()
    assert token_calls(sim) == {"200": 2, "400": 1}
    assert "refused the refresh token" in caplog.text
    assert saved(tmp_path)["access_token"] == tokens.access_token()


@pytest.mark.parametrize(
    "credentials",
    [
        Credentials(
            "demo-client",
            SecretStr("demo-secret"),
            "demo@example.com",
            SecretStr("wrong-password"),
        ),
        Credentials(
            "demo-client",
            SecretStr("wrong-secret"),
            "demo@example.com",
            SecretStr("demo-password"),
        ),
    ],
    ids=["password", "client-secret"],
)
def test_a_refused_login_is_permanent_and_never_retried(
    sim: Simulator, wire: WiringFactory, tmp_path: Path, credentials: Credentials
) -> None:
    """Bad credentials raise FlumeAuthError once; asking again sends nothing."""
    tokens = wire(sim, tmp_path, credentials=credentials).tokens
    for _ in range(3):
        with pytest.raises(FlumeAuthError) as caught:
            tokens.access_token()
        message = str(caught.value)
        assert message.startswith("Flume refused the login of demo@example.com (")
        assert "credentials are invalid" in message
        assert "wrong" not in message
        assert caught.value.status == 400
    assert token_calls(sim) == {"400": 1}
    assert not (tmp_path / "flume-token.json").exists()


def test_a_failed_refresh_keeps_the_old_token_while_it_is_valid(
    sim_factory: SimFactory,
    wire: WiringFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A refresh that fails transiently is postponed; the still-valid token is used."""
    sim = sim_factory(token_ttl=TTL)
    tokens = wire(sim, tmp_path).tokens
    old = tokens.access_token()
    sim.clock.advance(TTL * 0.9)
    add_fault(sim, route="/oauth/token", count=2, status=503)
    with caplog.at_level(logging.DEBUG, logger="bridge.flume.tokens"):
        assert tokens.access_token() == old
        assert tokens.access_token() == old
    postponed = [r.levelname for r in caplog.records if "postponed" in r.message]
    assert postponed == ["WARNING", "DEBUG"]  # once per streak, then quietly
    assert tokens.access_token() != old  # the next call refreshes
    assert token_calls(sim) == {"200": 2, "503": 2}


def test_a_refresh_whose_answer_is_lost_recovers_with_one_login(
    sim_factory: SimFactory, wire: WiringFactory, tmp_path: Path
) -> None:
    """Flume used up the refresh token but its answer was lost: one login mends it."""
    sim = sim_factory(token_ttl=TTL)
    tokens = wire(sim, tmp_path).tokens
    old = tokens.access_token()
    sim.clock.advance(TTL * 0.9)
    add_fault(sim, route="/oauth/token", body="html")
    assert tokens.access_token() == old  # postponed, the old token still works
    new = tokens.access_token()  # refresh refused (used up), then a login
    assert new != old
    assert saved(tmp_path)["access_token"] == new
    assert token_calls(sim) == {"200": 3, "400": 1}


def test_a_refused_refresh_token_is_never_sent_again(
    sim_factory: SimFactory, wire: WiringFactory
) -> None:
    """If the login after a refused refresh fails, the next try is a login only."""
    sim = sim_factory(rate_limit=1)  # the login fills the hour: the next gets 429
    tokens = wire(sim).tokens
    tokens.access_token()
    add_fault(sim, revoke_tokens="all")
    with pytest.raises(FlumeRateLimitError):
        tokens.force_refresh()
    sim.clock.advance(3601)
    tokens.force_refresh()
    assert token_calls(sim) == {"200": 2, "400": 1, "429": 1}


def test_an_expired_token_is_not_used_when_refresh_fails(
    sim_factory: SimFactory, wire: WiringFactory, tmp_path: Path
) -> None:
    """Past expiry, a failing refresh is raised as transient instead of a dead token."""
    sim = sim_factory(token_ttl=TTL)
    tokens = wire(sim, tmp_path).tokens
    tokens.access_token()
    sim.clock.advance(TTL + 1)
    add_fault(sim, route="/oauth/token", status=503)
    with pytest.raises(FlumeUnavailableError):
        tokens.access_token()


def test_token_calls_count_against_the_budget(
    sim: Simulator, wire: WiringFactory
) -> None:
    """Logins and refreshes each take one (essential) unit of the request budget."""
    wiring = wire(sim)
    wiring.tokens.access_token()
    wiring.tokens.force_refresh()
    assert wiring.budget.acquired == wiring.budget.essential == 2


def test_a_foreign_token_file_costs_one_login(
    sim: Simulator,
    wire: WiringFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A token saved for another user is ignored with a warning and replaced."""
    wire(sim, tmp_path).tokens.access_token()
    other = Credentials(
        DEMO.client_id, DEMO.client_secret, "someone@example.com", DEMO.password
    )
    with caplog.at_level(logging.WARNING):
        wire(sim, tmp_path, credentials=other)
    assert "another account" in caplog.text


def test_an_unverified_user_is_a_credential_error(
    sim: Simulator, wire: WiringFactory
) -> None:
    """A 403 on the login (Flume's unverified_user) is permanent, unlike on data."""
    add_fault(sim, route="/oauth/token", status=403)
    with pytest.raises(FlumeAuthError) as caught:
        wire(sim).tokens.access_token()
    assert caught.value.status == 403


def test_a_token_refreshed_by_another_process_is_taken_up(
    sim_factory: SimFactory, wire: WiringFactory, tmp_path: Path
) -> None:
    """When `discovery` refreshed beside the service, the service uses its token."""
    sim = sim_factory(token_ttl=TTL)
    service = wire(sim, tmp_path).tokens
    service.access_token()
    sim.clock.advance(60)  # the next grant is issued later, so it is newer
    other = wire(sim, tmp_path).tokens
    other.force_refresh()  # spends the service's single-use refresh token
    sim.clock.advance(TTL * 2 / 3 - 30)  # the service's token is due, not the other
    assert service.access_token() == other.access_token()
    assert token_calls(sim) == {"200": 2}  # the login and the one refresh
    sim.clock.advance(60)
    other.force_refresh()
    service.force_refresh()  # a 401 here: the saved token, not a spent refresh
    assert service.access_token() == other.access_token()
    assert token_calls(sim) == {"200": 3}

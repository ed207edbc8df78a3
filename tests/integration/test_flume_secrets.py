"""No secret in logs or exceptions: a full Flume cycle at DEBUG, failures included."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from bridge.errors import FlumeError
from bridge.flume.client import FlumeClient
from bridge.flume.tokens import Credentials
from bridge.simulator.server import Simulator
from tests.support.flume import DEMO, WiringFactory, add_fault
from tests.support.simulator import SimFactory

TTL = 3600
WRONG_PASSWORD = "wrong-Pa55word-4711"
WRONG_SECRET = "wrong-client-secret-0815"
BODY_FAULTS = ("malformed", "truncated", "empty", "html", "wrong_shape")


class Cycle:
    """Runs every client call, keeps every error, and collects the issued tokens."""

    def __init__(self, sim: Simulator, client: FlumeClient, state_dir: Path) -> None:
        self.sim = sim
        self.client = client
        self.state_dir = state_dir
        self.errors: list[BaseException] = []
        self.tokens: set[str] = set()

    def attempt(self, call: Callable[[], object]) -> None:
        """Run one call, keeping a FlumeError it raises."""
        try:
            call()
        except FlumeError as error:
            self.errors.append(error)

    def run(self) -> None:
        """Use every route of the client once."""
        sensor = self.sim.model.account.sensors[0].id
        today = {
            "request_id": "today",
            "bucket": "DAY",
            "since_datetime": "2026-03-10 00:00:00",
            "operation": "SUM",
        }
        for call in (
            self.client.devices,
            lambda: self.client.query(sensor, [today]),
            lambda: self.client.active_flow(sensor),
            lambda: self.client.leak_active(sensor),
            self.client.notifications,
            self.client.usage_alerts,
        ):
            self.attempt(call)
        self.note_tokens()

    def note_tokens(self) -> None:
        """Remember the tokens in the token file."""
        path = self.state_dir / "flume-token.json"
        if path.exists():
            saved = json.loads(path.read_text())
            self.tokens |= {saved["access_token"], saved["refresh_token"]}


def secrets_of(tokens: set[str]) -> set[str]:
    """Each token, and each JWT's payload and signature on their own."""
    parts = {part for token in tokens for part in token.split(".")[1:]}
    return {
        *tokens,
        *parts,
        "demo-password",
        "demo-secret",
        WRONG_PASSWORD,
        WRONG_SECRET,
    }


def provoke_failures(sim: Simulator, cycle: Cycle) -> None:
    """Damaged answers, error statuses, and a refresh answered with HTML."""
    for body in BODY_FAULTS:
        add_fault(sim, route="/users/*", body=body)
        cycle.run()
    for status in (400, 401, 403, 429, 500, 504):
        add_fault(sim, route="/users/*", status=status, count=2)
        cycle.run()
    sim.clock.advance(TTL * 0.7)
    add_fault(sim, route="/oauth/token", body="html")
    cycle.run()


def test_a_full_cycle_at_debug_logs_no_secret(
    sim_factory: SimFactory,
    wire: WiringFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Login, refresh, 401 retry, fallback, faults and refused logins leak nothing."""
    caplog.set_level(logging.DEBUG)
    # Libraries too (the CLI quiets urllib3, and that setting outlives its tests).
    caplog.set_level(logging.DEBUG, logger="urllib3")
    sim = sim_factory(leak=True, token_ttl=TTL)
    wiring = wire(sim, tmp_path)
    cycle = Cycle(sim, FlumeClient(wiring.http, wiring.tokens), tmp_path)
    cycle.run()  # login
    sim.clock.advance(TTL * 0.7)
    cycle.run()  # refresh when due
    add_fault(sim, revoke_tokens="access")
    cycle.run()  # 401, refresh, retry
    add_fault(sim, revoke_tokens="all")
    sim.clock.advance(TTL * 0.7)
    cycle.run()  # refused refresh, password grant
    provoke_failures(sim, cycle)
    for password, secret in (
        (WRONG_PASSWORD, "demo-secret"),
        ("demo-password", WRONG_SECRET),
    ):
        refused = Credentials(
            DEMO.client_id, SecretStr(secret), DEMO.username, SecretStr(password)
        )
        cycle.attempt(wire(sim, credentials=refused).tokens.access_token)

    assert len(cycle.tokens) >= 8  # four grants' access and refresh tokens
    assert len(cycle.errors) >= len(BODY_FAULTS) + 6 + 2
    assert "bridge.flume.http" in {r.name for r in caplog.records}  # DEBUG was on
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    shown = [caplog.text]
    for error in cycle.errors:
        shown += [str(error), repr(error), *traceback.format_exception(error)]
    text = "\n".join(shown)
    leaked = sorted(s for s in secrets_of(cycle.tokens) if s in text)
    assert leaked == []
    assert "Bearer" not in text

"""In-process checks of simulator server parts that loopback HTTP cannot reach."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from bridge.simulator import cli
from bridge.simulator.app import App
from bridge.simulator.clock import SimClock
from bridge.simulator.envelope import Reply
from bridge.simulator.faults import FaultRule
from bridge.simulator.mangle import apply, injected_error
from bridge.simulator.ratelimit import RateLimiter
from bridge.simulator.routing import Request
from bridge.simulator.server import Simulator
from bridge.simulator.tokens import (
    Credentials,
    InvalidTokenError,
    TokenStore,
    decode_jwt,
    encode_jwt,
)

START = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_control_routes_refuse_remote_clients() -> None:
    """A /_sim/ request from a non-loopback address is a 403."""
    app = App(Simulator(clock=SimClock(START, speed=0.0)).state)
    for client, status in (("192.0.2.7", 403), ("::ffff:127.0.0.1", 200), ("::1", 200)):
        reply = app(Request("GET", "/_sim/clock", client=client))
        assert reply.status == status, client
    assert app(Request("GET", "/_sim/clock", client="not-an-ip")).status == 403


def test_jwt_round_trip_and_tampering() -> None:
    """A token decodes with its key; a changed payload or key is rejected."""
    token = encode_jwt({"user_id": 7}, b"k" * 32)
    assert decode_jwt(token, b"k" * 32) == {"user_id": 7}
    header, _payload, signature = token.split(".")
    forged = encode_jwt({"user_id": 8}, b"k" * 32).split(".")[1]
    for bad, key in (
        (f"{header}.{forged}.{signature}", b"k" * 32),
        (token, b"x" * 32),
        (f"{header}.!!.{signature}", b"k" * 32),
        (f"{header}.{forged}.abcde", b"k" * 32),  # not base64 at all
    ):
        with pytest.raises(InvalidTokenError):
            decode_jwt(bad, key)


def test_token_without_claims_is_invalid() -> None:
    """A correctly signed token lacking user_id or exp is still refused."""
    key = b"s" * 32
    store = TokenStore(Credentials("c", "s", "u", "p", 1, 60), lambda: START, key=key)
    with pytest.raises(InvalidTokenError, match="invalid"):
        store.verify(encode_jwt({"user_id": 1}, key))


def test_rate_limiter_is_per_user() -> None:
    """One user's requests do not use another's budget."""
    now = [START]
    limiter = RateLimiter(2, lambda: now[0])
    assert [limiter.admit(1) for _ in range(3)] == [True, True, False]
    assert limiter.admit(2)
    now[0] += timedelta(seconds=3600)
    assert (limiter.used(1), limiter.admit(1)) == (0, True)


def test_simulator_lifecycle() -> None:
    """Starting returns the URL, a second start fails, stopping twice is harmless."""
    simulator = Simulator(clock=SimClock(START, speed=0.0))
    with pytest.raises(RuntimeError):
        _ = simulator.url
    with simulator:
        assert simulator.url.startswith("http://127.0.0.1:")
        with pytest.raises(RuntimeError):
            simulator.start()
    simulator.stop()
    with pytest.raises(RuntimeError):
        _ = simulator.url


def test_simulator_serves_ipv6_loopback() -> None:
    """A "::1" host gives a bracketed URL."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    simulator = Simulator(clock=SimClock(START, speed=0.0))
    try:
        url = simulator.start("::1", 0)
    except OSError:
        pytest.skip("IPv6 loopback unavailable")
    try:
        assert url.startswith("http://[::1]:")
    finally:
        simulator.stop()


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(exit_on_error=False)
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_cli_options_become_the_config() -> None:
    """Every option lands in SimConfig; --tz repeats for more locations."""
    args = parse(
        "--seed", "9", "--sensors", "3", "--tz", "Europe/Berlin", "--tz", "Asia/Tokyo",
        "--latency-minutes", "0.5", "--token-ttl", "60", "--rate-limit", "10", "--leak",
        "--client-id", "c", "--client-secret", "s",
        "--username", "u", "--password", "p",
        "--start", "2026-01-01T00:00:00Z", "--speed", "60",
    )  # fmt: skip
    config = cli.config_from(args)
    assert config.timezones == ("Europe/Berlin", "Asia/Tokyo")
    assert (config.seed, config.sensors, config.leak) == (9, 3, True)
    assert (config.latency_minutes, config.token_ttl, config.rate_limit) == (
        0.5,
        60,
        10,
    )
    assert (config.client_id, config.username, config.password) == ("c", "u", "p")
    assert args.start == datetime(2026, 1, 1, tzinfo=UTC)
    assert cli.config_from(parse()).timezones == ("America/Los_Angeles",)


@pytest.mark.parametrize(
    "argv",
    [
        ["--port", "70000"], ["--sensors", "21"], ["--speed", "fast"],
        ["--start", "2026-01-01T00:00"], ["--start", "soon"], ["--tz", "Nowhere/City"],
        ["--host", ""],
    ],
)  # fmt: skip
def test_cli_rejects_bad_values(argv: list[str]) -> None:
    """Bad option values are argparse errors (exit 2 in the command)."""
    with pytest.raises(argparse.ArgumentError):
        parse(*argv)


def test_run_refuses_a_config_argparse_let_through(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A config the model refuses is reported on stderr with exit 2."""
    args = parse()
    args.sensors = 0
    assert cli.run(args) == 2
    assert "sensors" in capsys.readouterr().err


def test_run_reports_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    """A port already in use is exit 1 with one line on stderr."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        args = parse("--port", str(taken.getsockname()[1]))
        assert cli.run(args) == 1
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err


def test_run_serves_until_sigterm(capsys: pytest.CaptureFixture[str]) -> None:
    """The command prints the ready line, serves, and returns 0 on SIGTERM."""
    before = signal.getsignal(signal.SIGTERM)

    def stop_when_ready() -> None:
        deadline = time.monotonic() + 10
        while signal.getsignal(signal.SIGTERM) is before:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=stop_when_ready)
    killer.start()
    assert cli.run(parse("--port", "0")) == 0
    killer.join()
    out = capsys.readouterr().out
    assert out.startswith("simulator listening on http://127.0.0.1:")
    assert signal.getsignal(signal.SIGTERM) is before


def test_faults_on_bodies_that_are_not_json() -> None:
    """Omitting keys leaves a non-JSON reply alone; malformed breaks an empty body."""
    rule = FaultRule(id=1, omit=("location",), body="malformed")
    reply = apply(rule, lambda: Reply(200, b"", content_type="text/plain"))
    assert (reply.status, reply.body) == (200, b"{")


def test_unassigned_status_codes_have_a_phrase() -> None:
    """An injected status without a reason phrase reads "Unknown"."""
    document = injected_error(599).document
    assert isinstance(document, dict)
    assert (document["http_code"], document["http_message"]) == (599, "Unknown")

"""The `simulate` command: options, the ready line, serving until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from types import FrameType

from bridge.simulator.account import MAX_SENSORS, PlannedOutage, SimConfig
from bridge.simulator.behaviour import (
    MAX_MIN_HOURS_LIMIT,
    MAX_OTHER_PER_HOUR,
    MAX_QUERIES_LIMIT,
    READINGS,
    SORTS,
    Behaviour,
)
from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator
from bridge.simulator.timebase import is_zone

DEFAULTS = SimConfig()


def _ranged(
    kind: Callable[[str], float], low: float, high: float
) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:.10g} to {high:.10g}")
        return value

    return parse


def _zone(text: str) -> str:
    if not is_zone(text):
        raise argparse.ArgumentTypeError(f"unknown time zone {text!r}")
    return text


def _instant(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from None
    if when.utcoffset() is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-01-01T08:00Z")
    return when


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise argparse.ArgumentTypeError(f"must be one of {', '.join(choices)}")
        return text

    return parse


def _outage(text: str) -> PlannedOutage:
    """`[SENSOR@]START/END`: sensor number (default 1), ISO-8601 instants."""
    sensor, _, span = text.rpartition("@")
    start, slash, end = span.partition("/")
    if not slash or (sensor and not sensor.isdecimal()):
        raise argparse.ArgumentTypeError(
            f"give [SENSOR@]START/END, e.g. 2@2026-01-01T08:00Z/2026-01-01T10:00Z, "
            f"not {text!r}"
        )
    return PlannedOutage(int(sensor or 1), _instant(start), _instant(end))


def _text(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("must not be empty")
    return text


# (flags, type, default, help) for the valued options; --leak is the only switch.
_OPTIONS: tuple[tuple[str, Callable[[str], object], object, str], ...] = (
    ("--host", _text, "127.0.0.1", "address to listen on"),
    ("--port", _ranged(int, 0, 65535), 8089, "port to listen on (0: a free one)"),
    ("--seed", int, DEFAULTS.seed, "household model seed: same seed, same data"),
    ("--sensors", _ranged(int, 1, MAX_SENSORS), DEFAULTS.sensors, "water sensors"),
    ("--latency-minutes", _ranged(float, 0, 1440), DEFAULTS.latency_minutes,
     "minutes before a minute's data becomes visible"),
    ("--token-ttl", _ranged(int, 1, 10**9), DEFAULTS.token_ttl,
     "access-token lifetime in seconds"),
    ("--rate-limit", _ranged(int, 1, 10**9), DEFAULTS.rate_limit,
     "requests per user in any rolling hour"),
    ("--client-id", _text, DEFAULTS.client_id, "accepted OAuth client id"),
    ("--client-secret", _text, DEFAULTS.client_secret, "accepted OAuth client secret"),
    ("--username", _text, DEFAULTS.username, "accepted username"),
    ("--password", _text, DEFAULTS.password, "accepted password"),
    ("--start", _instant, None, "simulated start time, ISO-8601 (default: now)"),
    ("--speed", _ranged(float, 0, 1e6), 1.0, "simulated seconds per real second"),
    ("--other-client", _ranged(int, 0, MAX_OTHER_PER_HOUR), 0,
     "requests an hour another client spends on the same account"),
    ("--reading", _one_of(READINGS), DEFAULTS.behaviour.reading,
     "documented, or ungrouped: one bucket per base bucket, group_multiplier ignored"),
    ("--sort", _one_of(SORTS), DEFAULTS.behaviour.sort,
     "series order: asked (sort_direction), asc or desc whatever is asked"),
    ("--max-queries", _ranged(int, 1, MAX_QUERIES_LIMIT), None,
     "refuse a query body with more queries (default: no limit)"),
    ("--max-min-hours", _ranged(int, 1, MAX_MIN_HOURS_LIMIT), None,
     "refuse a MIN window longer than this many hours (default: no limit)"),
)  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's options to `parser`."""
    for flag, kind, default, text in _OPTIONS:
        shown = text if default is None else f"{text} (default: {default})"
        parser.add_argument(flag, type=kind, default=default, help=shown)
    parser.add_argument(
        "--tz",
        type=_zone,
        action="append",
        metavar="ZONE",
        help=f"a location's IANA time zone; repeat for more locations "
        f"(default: {DEFAULTS.timezones[0]})",
    )
    parser.add_argument(
        "--leak", action="store_true", help="a slow leak on the first sensor"
    )
    parser.add_argument(
        "--no-rate-headers",
        action="store_true",
        help="leave X-RateLimit-* headers out (real Flume may not send them)",
    )
    parser.add_argument(
        "--outage",
        type=_outage,
        action="append",
        metavar="[SENSOR@]START/END",
        help="an upload outage of sensor SENSOR (default 1); repeat for more",
    )


def behaviour_from(args: argparse.Namespace) -> Behaviour:
    """Return the Behaviour the parsed options describe."""
    return Behaviour(
        rate_headers=not args.no_rate_headers,
        other_client_per_hour=args.other_client,
        reading=args.reading,
        sort=args.sort,
        max_queries=args.max_queries,
        max_min_hours=args.max_min_hours,
    )


def config_from(args: argparse.Namespace) -> SimConfig:
    """Return the SimConfig the parsed options describe."""
    return SimConfig(
        seed=args.seed,
        sensors=args.sensors,
        timezones=tuple(args.tz or DEFAULTS.timezones),
        latency_minutes=args.latency_minutes,
        token_ttl=args.token_ttl,
        rate_limit=args.rate_limit,
        leak=args.leak,
        client_id=args.client_id,
        client_secret=args.client_secret,
        username=args.username,
        password=args.password,
        behaviour=behaviour_from(args),
        outages=tuple(args.outage or ()),
    )


def _wait_for_signal() -> None:
    stop = threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {
        sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(args: argparse.Namespace) -> int:
    """Serve the simulator until SIGINT or SIGTERM; return the exit code."""
    try:
        config = config_from(args)
    except ValueError as error:
        print(f"flume-mqtt simulate: error: {error}", file=sys.stderr)
        return 2
    simulator = Simulator(config, SimClock(start=args.start, speed=args.speed))
    try:
        url = simulator.start(args.host, args.port)
    except OSError as error:
        print(f"flume-mqtt simulate: cannot listen on {args.host}:{args.port}: "
              f"{error.strerror or error}", file=sys.stderr)  # fmt: skip
        return 1
    print(f"simulator listening on {url}", flush=True)
    try:
        _wait_for_signal()
    finally:
        simulator.stop()
    return 0


def main(argv: Sequence[str], prog: str = "flume-mqtt simulate") -> int:
    """Parse the simulator's options and serve; usage errors exit 2 (argparse)."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Serve a faithful simulator of the Flume cloud API."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))

"""Command line: argument parsing, logging set-up, exit codes; the composition root."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Final

import bridge
from bridge.simulator import cli as simulator_cli

log = logging.getLogger(__name__)

EXIT_USAGE: Final = 2
EXIT_CONFIG: Final = 78
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")

# Commands of DESIGN §2 that later issues implement; until then they refuse honestly.
PENDING: Final = {
    "run": "the service",
    "check": "the configuration and connection check",
    "discovery": "the discovery preview and purge",
}

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `flume-mqtt` command and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = args.log_level or os.environ.get("LOG_LEVEL", "INFO").upper()
    if level not in LOG_LEVELS:
        print(
            f"config error: LOG_LEVEL: must be one of {', '.join(LOG_LEVELS)}",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    configure_logging(level)
    handler: Handler = args.handler
    return handler(args)


def build_parser() -> argparse.ArgumentParser:
    """Build the parser for every command of DESIGN §2."""
    parser = argparse.ArgumentParser(
        prog="flume-mqtt",
        description="Bridge Flume smart water meters to MQTT.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {bridge.__version__}"
    )
    parser.add_argument(
        "--env-file",
        metavar="PATH",
        default=".env",
        help="settings file read after the environment (default: .env)",
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=None,
        help="logging level (default: $LOG_LEVEL or INFO)",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _add_pending(commands, "run", "run the bridge service")
    _add_pending(commands, "check", "check configuration, Flume login and broker")
    simulate = commands.add_parser(
        "simulate",
        help="serve the Flume API simulator",
        description="Serve a faithful simulator of the Flume cloud API.",
    )
    simulator_cli.add_arguments(simulate)
    simulate.set_defaults(handler=simulator_cli.run)
    _add_pending(commands, "discovery", "print or purge Home Assistant discovery")
    return parser


def _add_pending(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
) -> None:
    sub = commands.add_parser(name, help=summary, description=summary)
    sub.set_defaults(handler=_pending(name))


def _pending(name: str) -> Handler:
    def refuse(_args: argparse.Namespace) -> int:
        print(
            f"flume-mqtt: '{name}' ({PENDING[name]}) is not implemented yet in "
            f"version {bridge.__version__}; only 'simulate' works so far",
            file=sys.stderr,
        )
        return EXIT_USAGE

    return refuse


def configure_logging(level: str) -> None:
    """Log to stderr; journald adds its own timestamps, so leave them out there."""
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not os.environ.get("JOURNAL_STREAM"):
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr, force=True)
    # Library chatter (connection pools, paho internals) is noise below WARNING.
    for noisy in ("urllib3", "paho"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

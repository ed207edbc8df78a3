"""Command line: argument parsing, logging set-up, and exit codes; nothing else."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

import bridge
from bridge.app import CREDENTIAL_NAMES
from bridge.config import Settings, load_settings
from bridge.errors import (
    BridgeError,
    ConfigError,
    FlumeAuthError,
    FlumeError,
    MqttAuthError,
    MqttError,
)

EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2  # argparse's, for a bad command line
EXIT_CONFIG: Final = 78
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
# One line and an exit code per failure; the first match wins, so subclasses first.
FAILURES: Final[tuple[tuple[type[BridgeError], str, int], ...]] = (
    (ConfigError, "config error: {}", EXIT_CONFIG),
    (FlumeAuthError, "credential error: {}; check " + CREDENTIAL_NAMES, EXIT_CONFIG),
    (FlumeError, "flume error: {}", EXIT_FAILURE),
    (MqttAuthError, "broker credential error: {}", EXIT_CONFIG),
    (MqttError, "mqtt error: {}", EXIT_FAILURE),
)

Handler = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `flume-mqtt` command and return its exit code."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "simulate":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    level = args.log_level or os.environ.get("LOG_LEVEL", "INFO").upper()
    if level not in LOG_LEVELS:
        print(
            f"config error: LOG_LEVEL: must be one of {', '.join(LOG_LEVELS)}",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    configure_logging(level)
    if args.command == "simulate":
        # Here, not at the top: only `simulate` and `run --demo` load the simulator.
        from bridge.commands.simulate import simulate  # noqa: PLC0415

        return simulate(rest)
    try:
        # Purging needs only the broker: it works with the Flume account gone.
        optional = (args.command == "run" and args.demo) or getattr(
            args, "purge", False
        )
        settings = load_settings(args.env_file, demo=optional)
        if args.log_level is None:
            logging.getLogger().setLevel(settings.log_level)
        handler: Handler = args.handler
        return handler(args, settings)
    except BridgeError as error:
        return failed(error)


def build_parser() -> argparse.ArgumentParser:
    """Build the parser for every command of DESIGN §2."""
    parser = argparse.ArgumentParser(
        prog="flume-mqtt", description="Bridge Flume smart water meters to MQTT."
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {bridge.__version__}"
    )
    parser.add_argument(
        "--env-file",
        metavar="PATH",
        type=Path,
        default=None,
        help="settings file read after the environment (default: .env if present)",
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=None,
        help="logging level (default: $LOG_LEVEL or INFO)",
    )
    commands = parser.add_subparsers(
        title="commands", metavar="COMMAND", dest="command", required=True
    )
    command = commands.add_parser(
        "run",
        help="run the bridge service",
        description="Poll Flume and publish to MQTT until SIGTERM or SIGINT.",
    )
    command.add_argument(
        "--demo",
        action="store_true",
        help="run against the built-in Flume simulator with its demo account",
    )
    command.set_defaults(handler=_run)
    command = commands.add_parser(
        "check",
        help="check configuration, Flume login and broker",
        description="Check the configuration, log in to Flume, list the devices and "
        "print the request plan; exit 0 only if all pass.",
    )
    command.set_defaults(handler=_check)
    # Its options are the simulator's own (`flume-mqtt simulate --help`).
    commands.add_parser(
        "simulate", help="serve the Flume API simulator", add_help=False
    )
    _add_discovery(commands)
    return parser


def _add_discovery(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    command = commands.add_parser(
        "discovery",
        help="print or purge what the bridge publishes",
        description="Log in to Flume and print the discovery, status and state "
        "messages a start would publish; or, with --purge, remove every retained "
        "topic this bridge owns from the broker (no Flume login needed).",
    )
    mode = command.add_mutually_exclusive_group()
    mode.add_argument(
        "--json",
        action="store_true",
        help="print every message in full as JSON: [{topic, retain, payload}]",
    )
    mode.add_argument(
        "--purge",
        action="store_true",
        help="remove every retained topic this bridge owns from the broker",
    )
    command.set_defaults(handler=_discovery)


# Each handler imports its own command: `run` lives for months and keeps all it
# imports, so it leaves out `check` and `discovery` (bench/rss_versus.py).
def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bridge.commands import run  # noqa: PLC0415

    run.run(settings, demo=args.demo)
    return 0


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from bridge.commands import check  # noqa: PLC0415

    report = check.check(settings, _source(args.env_file))
    print(check.render(report))
    return EXIT_FAILURE if check.problems(report) else 0


def _discovery(args: argparse.Namespace, settings: Settings) -> int:
    from bridge.commands import discovery  # noqa: PLC0415

    if args.purge:
        print(discovery.purge(settings))
    else:
        print(discovery.preview(settings, as_json_list=args.json))
    return 0


def failed(error: BridgeError) -> int:
    """Print the one line for `error` and return its exit code."""
    for kind, template, code in FAILURES:
        if isinstance(error, kind):
            print(template.format(error), file=sys.stderr)
            return code
    raise error


def _source(env_file: Path | None) -> str:
    if env_file is not None:
        return f"environment and {env_file}"
    return "environment and .env" if Path(".env").is_file() else "environment"


def configure_logging(level: str) -> None:
    """Log to stderr; journald adds its own timestamps, so leave them out there."""
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not os.environ.get("JOURNAL_STREAM"):
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr, force=True)
    # Library chatter (connection pools, paho internals) is noise below WARNING.
    for noisy in ("urllib3", "paho"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

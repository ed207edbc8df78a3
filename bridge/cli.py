"""Command line: argument parsing, logging set-up, exit codes; the composition root."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import requests

import bridge
from bridge import commands, mqtt, runner
from bridge.config import Settings, load_settings
from bridge.discovery import MessageBuilder
from bridge.errors import (
    BridgeError,
    ConfigError,
    FlumeAuthError,
    FlumeError,
    MqttAuthError,
    MqttError,
)
from bridge.flume.budget import RequestBudget
from bridge.flume.client import FlumeClient
from bridge.flume.http import FlumeHttp
from bridge.flume.planner import plan
from bridge.flume.tokens import Credentials, TokenManager
from bridge.preview import as_json, as_text, start_messages
from bridge.report import CheckReport, problems, render, select_devices
from bridge.simulator import cli as simulator_cli

log = logging.getLogger(__name__)

EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_CONFIG: Final = 78
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")

Handler = Callable[[argparse.Namespace], int]
CREDENTIAL_NAMES: Final = (
    "FLUME_CLIENT_ID, FLUME_CLIENT_SECRET, FLUME_USERNAME and FLUME_PASSWORD"
)
# One line and an exit code per failure; the first match wins, so subclasses first.
FAILURES: Final[tuple[tuple[type[BridgeError], str, int], ...]] = (
    (ConfigError, "config error: {}", EXIT_CONFIG),
    (FlumeAuthError, "credential error: {}; check " + CREDENTIAL_NAMES, EXIT_CONFIG),
    (FlumeError, "flume error: {}", EXIT_FAILURE),
    (MqttAuthError, "broker credential error: {}", EXIT_CONFIG),
    (MqttError, "mqtt error: {}", EXIT_FAILURE),
)


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
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    run = commands.add_parser(
        "run",
        help="run the bridge service",
        description="Poll Flume and publish to MQTT until SIGTERM or SIGINT.",
    )
    run.add_argument(
        "--demo",
        action="store_true",
        help="run against the built-in Flume simulator with its demo account",
    )
    run.set_defaults(handler=run_service)
    check = commands.add_parser(
        "check",
        help="check configuration, Flume login and broker",
        description="Check the configuration, log in to Flume, list the devices and "
        "print the request plan; exit 0 only if all pass.",
    )
    check.set_defaults(handler=run_check)
    simulate = commands.add_parser(
        "simulate",
        help="serve the Flume API simulator",
        description="Serve a faithful simulator of the Flume cloud API.",
    )
    simulator_cli.add_arguments(simulate)
    simulate.set_defaults(handler=simulator_cli.run)
    _add_discovery(commands)
    return parser


def _add_discovery(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    discovery = commands.add_parser(
        "discovery",
        help="print or purge what the bridge publishes",
        description="Log in to Flume and print the discovery, status and state "
        "messages a start would publish; or, with --purge, remove every retained "
        "topic this bridge owns from the broker (no Flume login needed).",
    )
    mode = discovery.add_mutually_exclusive_group()
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
    discovery.set_defaults(handler=run_discovery)


def run_service(args: argparse.Namespace) -> int:
    """The `run` command: the service, against Flume or (--demo) the simulator."""
    try:
        settings = load_settings(args.env_file, demo=args.demo)
        if args.log_level is None:
            logging.getLogger().setLevel(settings.log_level)
        with ExitStack() as stack:
            if args.demo:
                settings, login = stack.enter_context(runner.demo(settings))
            else:
                login = credentials(settings)
            runner.serve(settings, login)
    except BridgeError as error:
        return _failed(error)
    return 0


def run_check(args: argparse.Namespace) -> int:
    """The `check` command: settings, broker, Flume login, devices and plan."""
    try:
        settings = load_settings(args.env_file)
        if args.log_level is None:
            logging.getLogger().setLevel(settings.log_level)
        # The broker first: refused credentials end the check before a Flume login.
        broker, broker_error = probe_broker(settings)
        with requests.Session() as session:
            report = probe_flume(settings, session, _source(args.env_file))
    except BridgeError as error:
        return _failed(error)
    report = dataclasses.replace(report, broker=broker, broker_error=broker_error)
    print(render(report))
    return EXIT_FAILURE if problems(report) else 0


def probe_broker(settings: Settings) -> tuple[str | None, str | None]:
    """Connect to the broker as the service would: how it went, or why it did not.

    Raises:
        MqttAuthError: the broker refused the credentials or a certificate.
    """
    try:
        return mqtt.probe(settings), None
    except MqttAuthError:
        raise
    except MqttError as error:  # unreachable: a FAILED line in the report, exit 1
        return None, str(error)


def run_discovery(args: argparse.Namespace) -> int:
    """The `discovery` command: preview the start's messages, or purge the broker."""
    try:
        # Purging needs only the broker: it works with the Flume account gone.
        settings = load_settings(args.env_file, demo=args.purge)
        if args.log_level is None:
            logging.getLogger().setLevel(settings.log_level)
        if args.purge:
            print(commands.purge_broker(settings))
            return 0
        with requests.Session() as session:
            login = credentials(settings)
            devices = commands.account_devices(settings, session, login)
    except BridgeError as error:
        return _failed(error)
    builder = MessageBuilder(settings)
    messages = start_messages(builder, devices, datetime.now(UTC))
    print(as_json(messages) if args.json else as_text(messages))
    return 0


def _failed(error: BridgeError) -> int:
    """Print the one line for `error` and return its exit code."""
    for kind, template, code in FAILURES:
        if isinstance(error, kind):
            print(template.format(error), file=sys.stderr)
            return code
    raise error


def probe_flume(
    settings: Settings, session: requests.Session, source: str
) -> CheckReport:
    """Log in, list the devices and plan the requests, within the hourly budget.

    Raises:
        ConfigError: FLUME_DEVICE_IDS names a device the account does not have.
        FlumeAuthError: Flume refused the client or the account.
        FlumeError: Flume could not be reached or answered nonsense.
    """
    login = credentials(settings)
    budget = RequestBudget(settings.flume_requests_per_hour)
    http = FlumeHttp(session, settings.flume_api_url, settings.flume_timeout, budget)
    # No token store: a saved token would hide a wrong password, and refreshing the
    # running service's token would spend its single-use refresh token.
    tokens = TokenManager(http, login)
    devices = FlumeClient(http, tokens).devices()
    selected, unknown = select_devices(devices, settings.flume_device_ids)
    if unknown:
        raise ConfigError(
            f"FLUME_DEVICE_IDS: not in this account: {', '.join(unknown)}"
        )
    sensors = sum(1 for device in selected if device.is_sensor)
    budgeted = plan(settings.flume_requests_per_hour, sensors) if sensors else None
    return CheckReport(
        version=bridge.__version__,
        settings_source=source,
        api_url=settings.flume_api_url,
        username=login.username,
        user_id=tokens.user_id,
        devices=devices,
        selected=selected,
        plan=budgeted.describe() if budgeted else "nothing to plan",
        state_dir=str(settings.state_dir),
        state_writable=writable(settings.state_dir),
    )


def credentials(settings: Settings) -> Credentials:
    """The Flume login of `settings` (load_settings without demo makes sure of it)."""
    client_id, secret = settings.flume_client_id, settings.flume_client_secret
    username, password = settings.flume_username, settings.flume_password
    if client_id and secret and username and password:
        return Credentials(client_id, secret, username, password)
    raise ConfigError(f"{CREDENTIAL_NAMES}: required (or run with --demo)")


def writable(directory: Path) -> bool:
    """Whether `directory` is writable, or could be created in its nearest parent."""
    candidates = (directory, *directory.parents)
    existing = next((path for path in candidates if path.exists()), directory)
    return existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)


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

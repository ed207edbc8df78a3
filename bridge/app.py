"""The one composition root: every part of the bridge built from settings."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bridge.alerts import AlertBook, RuleBook, thresholds
from bridge.config import Settings
from bridge.contract import Contract
from bridge.errors import ConfigError
from bridge.flume.budget import RequestBudget
from bridge.flume.client import FlumeClient
from bridge.flume.clock import ServerClock
from bridge.flume.http import FlumeHttp
from bridge.flume.planner import plan
from bridge.flume.record import RequestRecord
from bridge.flume.tokens import Credentials, TokenManager, TokenStore
from bridge.meter import Meter
from bridge.mqtt import MqttPublisher
from bridge.service import Parts, Service
from bridge.service.systemd import Notifier
from bridge.service.timetable import Timetable

CREDENTIAL_NAMES = (
    "FLUME_CLIENT_ID, FLUME_CLIENT_SECRET, FLUME_USERNAME and FLUME_PASSWORD"
)
Seconds = Callable[[], float]


def credentials(settings: Settings) -> Credentials:
    """The Flume login of `settings` (load_settings without demo makes sure of it).

    Raises:
        ConfigError: one of the four variables is not set.
    """
    client_id, secret = settings.flume_client_id, settings.flume_client_secret
    username, password = settings.flume_username, settings.flume_password
    if client_id and secret and username and password:
        return Credentials(client_id, secret, username, password)
    raise ConfigError(f"{CREDENTIAL_NAMES}: required (or run with --demo)")


def budget_of(settings: Settings, seconds: Seconds | None = None) -> RequestBudget:
    """The rolling-hour budget of FLUME_REQUESTS_PER_HOUR, with the plan's reserve.

    On the real clocks it shares the request record in STATE_DIR with every process
    and start; on a simulated clock (`seconds`: the bench, the soak) it is private.
    """
    per_hour = settings.flume_requests_per_hour
    reserve = plan(per_hour, 1).token_reserve
    if seconds is not None:
        return RequestBudget(per_hour, seconds, reserve=reserve)
    record = RequestRecord(settings.state_dir)
    return RequestBudget(per_hour, time.monotonic, reserve=reserve, record=record)


def flume_client(
    settings: Settings,
    login: Credentials,
    budget: RequestBudget,
    clock: ServerClock | None = None,
    *,
    saved_token: bool = True,
) -> FlumeClient:
    """The Flume side: an HTTP session within `budget`, and the account's tokens.

    Args:
        settings: the configuration.
        login: the Flume account.
        budget: the rolling-hour limiter every request goes through.
        clock: Flume's time, learnt from its answers (the service's windows follow
            it); None: the host's (a command that runs once has no use for it).
        saved_token: whether to read and write the token file. Not for `check`: a
            saved token would hide a wrong password, and refreshing the running
            service's token would spend its single-use refresh token.
    """
    http = FlumeHttp.open(
        settings.flume_api_url, settings.flume_timeout, budget, server_clock=clock
    )
    store = TokenStore(settings.state_dir) if saved_token else None
    now = clock.now if clock else lambda: datetime.now(UTC)
    return FlumeClient(http, TokenManager(http, login, store, now=now))


def account(
    settings: Settings, login: Credentials, *, saved_token: bool = True
) -> FlumeClient:
    """The Flume client of a command that runs once (`check`, `discovery`)."""
    budget = budget_of(settings)
    return flume_client(settings, login, budget, saved_token=saved_token)


def parts(
    settings: Settings,
    login: Credentials,
    *,
    seconds: Seconds | None = None,
    budget: RequestBudget | None = None,
) -> Parts:
    """The service's parts, on Flume's clock (the `Date` of its answers).

    Args:
        settings: the configuration.
        login: the Flume account.
        seconds: the host's clock in POSIX seconds, for the budget too (the bench
            and the soak run days on a simulated one); default: the real clocks.
        budget: a limiter of the caller's (a seeded jitter); default: the plan's.
    """
    budget = budget or budget_of(settings, seconds)
    clock = ServerClock(seconds, seconds) if seconds else ServerClock()
    contract = Contract.of(settings)
    return Parts(
        settings=settings,
        client=flume_client(settings, login, budget, clock),
        budget=budget,
        meter=Meter(settings.state_dir),
        alerts=AlertBook(settings.state_dir, clock.now),
        rules=RuleBook(settings.state_dir, thresholds(settings, contract.units)),
        contract=contract,
        now=clock.now,
    )


def service(
    built: Parts,
    stop: threading.Event,
    *,
    publisher: MqttPublisher | None = None,
    timetable: Timetable | None = None,
    monotonic: Seconds = time.monotonic,
) -> Service:
    """The service of `built`, publishing to MQTT_HOST and telling systemd."""
    return Service(
        built,
        publisher or MqttPublisher(built.settings),
        Notifier(),
        stop,
        timetable=timetable,
        monotonic=monotonic,
    )

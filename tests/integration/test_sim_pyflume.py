"""A third-party client, pyflume 0.8.7, unchanged against the simulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from pyflume import (
    FlumeAuth,
    FlumeData,
    FlumeDeviceList,
    FlumeLeakList,
    FlumeNotificationList,
    FlumeUsageAlertList,
)

from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator

FLUME = "https://api.flumetech.com"  # baked into pyflume's module constants
TZ = "America/Los_Angeles"


class Redirect(requests.Session):
    """Send pyflume's requests to the simulator: only the base URL changes."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def request(  # type: ignore[override]  # same call, another host
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Rewrite Flume's base URL to the simulator's."""
        assert url.startswith(FLUME), url
        return super().request(
            method, self.base_url + url[len(FLUME) :], *args, **kwargs
        )


@pytest.fixture
def live(sim_factory: Callable[..., Simulator]) -> Simulator:
    """A simulator at real now: pyflume builds its windows from the wall clock."""
    start = datetime.now(UTC).replace(microsecond=0)
    return sim_factory(
        clock=SimClock(start, speed=0.0), sensors=2, history_days=365, leak=True
    )


@pytest.fixture
def redirect(live: Simulator) -> Iterator[Redirect]:
    session = Redirect(live.url)
    yield session
    session.close()


def auth(session: Redirect) -> Any:
    return FlumeAuth(
        "demo@example.com",
        "demo-password",
        "demo-client",
        "demo-secret",
        http_session=session,
    )


def visible_until(now: datetime, latency_minutes: float = 2.0) -> datetime:
    """The end of the newest minute the API shows (data latency)."""
    shown = now - timedelta(minutes=latency_minutes)
    return shown.replace(second=0, microsecond=0)


def test_auth_and_device_list(live: Simulator, redirect: Redirect) -> None:
    """FlumeAuth logs in and FlumeDeviceList reads devices with location and user."""
    flume_auth = auth(redirect)
    assert flume_auth.user_id == live.model.account.user_id
    devices = FlumeDeviceList(flume_auth, http_session=redirect).device_list
    assert len(devices) == 3
    sensors = [d for d in devices if d["type"] == 2]
    assert {d["location"]["tz"] for d in sensors} == {TZ}
    assert all(d["user"]["email_address"] == "demo@example.com" for d in devices)


def test_auth_refreshes_a_short_lived_token(sim_factory: Any) -> None:
    """A token expiring within 12 h makes pyflume refresh it, and that works."""
    start = datetime.now(UTC)
    sim = sim_factory(clock=SimClock(start, speed=0.0), token_ttl=3600)
    with Redirect(sim.url) as session:
        flume_auth = auth(session)
        stats = session.get(FLUME + "/_sim/stats").json()
    assert stats["by_route"]["POST /oauth/token"]["by_status"] == {"200": 2}
    assert flume_auth.token["expires_in"] == 3600


def test_update_force_matches_the_truth(live: Simulator, redirect: Redirect) -> None:
    """FlumeData's seven windows come back as floats; today and month match truth."""
    flume_auth = auth(redirect)
    sensor = live.model.account.sensors[0].id
    data = FlumeData(
        flume_auth,
        sensor,
        TZ,
        timedelta(minutes=1),
        update_on_init=False,
        http_session=redirect,
    )
    data.update_force()
    values = data.values
    assert set(values) == {
        "current_interval", "today", "week_to_date", "month_to_date",
        "last_60_min", "last_24_hrs", "last_30_days",
    }  # fmt: skip
    assert all(isinstance(v, float) and v >= 0 for v in values.values())
    # The current minute is not visible yet (data latency): Flume's "always 0" flow.
    assert values["current_interval"] == 0
    now = live.clock.now()
    local = now.astimezone(ZoneInfo(TZ))
    midnight = local.replace(hour=0, minute=0, second=0)
    month = midnight.replace(day=1)
    shown = visible_until(now)
    assert values["today"] == live.model.truth(sensor, midnight, shown)
    assert values["month_to_date"] == live.model.truth(sensor, month, shown)
    assert values["last_30_days"] >= values["today"]


def test_leak_list(live: Simulator, redirect: Redirect) -> None:
    """FlumeLeakList reads leaks/active: the demo leak is on the first sensor only."""
    flume_auth = auth(redirect)
    first, second = (d.id for d in live.model.account.sensors)
    assert FlumeLeakList(flume_auth, first, http_session=redirect).leak_alert_list == [
        {"active": True}
    ]
    assert FlumeLeakList(flume_auth, second, http_session=redirect).leak_alert_list == [
        {"active": False}
    ]


def test_notifications_with_pagination(live: Simulator, redirect: Redirect) -> None:
    """FlumeNotificationList pages through every notification, newest first."""
    flume_auth = auth(redirect)
    notes = FlumeNotificationList(
        flume_auth, http_session=redirect, sort_direction="DESC"
    )
    items = list(notes.notification_list)
    assert len(items) == 50
    while notes.has_next:
        items += notes.get_next_notifications()
    total = len(live.model.notifications())
    assert len(items) == total > 50
    stamps = [item["created_datetime"] for item in items]
    assert stamps == sorted(stamps, reverse=True)


def test_usage_alerts_with_pagination(live: Simulator, redirect: Redirect) -> None:
    """FlumeUsageAlertList pages through every usage alert."""
    flume_auth = auth(redirect)
    alerts = FlumeUsageAlertList(flume_auth, http_session=redirect)
    items = list(alerts.usage_alert_list)
    while alerts.has_next:
        items += alerts.get_next_usage_alerts()
    assert len(items) == len(live.model.usage_alerts()) > 50
    assert len({item["id"] for item in items}) == len(items)
    rules = {item["event_rule_name"] for item in items}
    assert rules == {"High Flow Alert", "Flume Smart Leak Alert"}


def test_pyflume_reports_flume_errors(live: Simulator, redirect: Redirect) -> None:
    """Bad credentials reach pyflume as Flume's 400 detail, not a crash."""
    from pyflume.utils import FlumeResponseError

    with pytest.raises(FlumeResponseError, match="Client credentials are invalid"):
        FlumeAuth("demo@example.com", "demo-password", "x", "y", http_session=redirect)

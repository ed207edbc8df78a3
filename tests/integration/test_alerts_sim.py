"""AlertBook fed by FlumeClient from the simulator: one event per alert, none again."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import requests

from bridge.alerts import AlertBook
from bridge.flume.client import FlumeClient
from bridge.models import Event
from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator
from tests.support.flume import WiringFactory
from tests.support.simulator import START, SimFactory

STEP = timedelta(minutes=10)
EventKey = tuple[str, str, datetime]


def first_high_flow(sim_factory: SimFactory) -> datetime:
    """When the first High Flow Alert after START fires (asked of a later simulator)."""
    probe = sim_factory(clock=SimClock(START + timedelta(days=30), speed=0.0))
    return min(
        datetime.fromisoformat(str(a["triggered_datetime"]))
        for a in probe.model.usage_alerts()
        if a["event_rule_name"] == "High Flow Alert"
        and datetime.fromisoformat(str(a["triggered_datetime"])) > START
    )


def control(sim: Simulator, route: str, body: dict[str, object]) -> None:
    """POST to a /_sim/ control route."""
    response = requests.post(f"{sim.url}/_sim/{route}", json=body, timeout=10)
    response.raise_for_status()


def poll(book: AlertBook, client: FlumeClient) -> list[tuple[str, Event]]:
    """One alerts job: both listings since the book's watermark, then the update."""
    since = book.since()
    return book.update(client.notifications(since=since), client.usage_alerts(since))


def expected(sim: Simulator, after: datetime) -> list[EventKey]:
    """The usage alerts the simulator fired after `after`, oldest first, as keys."""
    kinds = {"High Flow Alert": "high_flow", "Flume Smart Leak Alert": "leak"}
    found = [
        (
            str(a["device_id"]),
            kinds[str(a["event_rule_name"])],
            datetime.fromisoformat(str(a["triggered_datetime"])),
        )
        for a in sim.model.usage_alerts()
    ]
    return sorted((key for key in found if key[2] > after), key=lambda key: key[2])


def test_each_alert_is_one_event_and_none_repeats_after_a_restart(
    sim_factory: SimFactory, wire: WiringFactory, tmp_path: Path
) -> None:
    """A leak and a high flow each become one event; a new book repeats neither."""
    high_flow = first_high_flow(sim_factory)
    begin = high_flow - timedelta(hours=2)
    sim = sim_factory(clock=SimClock(begin, speed=0.0), history_days=60)
    sensor = sim.model.account.sensors[0].id
    wiring = wire(sim)
    client = FlumeClient(wiring.http, wiring.tokens)
    book = AlertBook(tmp_path, sim.clock.now)
    assert sim.model.usage_alerts(), "the simulator should have history"
    assert poll(book, client) == []  # history is no news
    assert book.high_flow(sensor) is False
    control(sim, "leak", {"device_id": sensor, "gallons_per_minute": 0.5})
    events: list[tuple[str, Event]] = []
    held = []
    while sim.clock.now() < high_flow + timedelta(hours=2):
        control(sim, "clock", {"advance": STEP.total_seconds()})
        events += poll(book, client)
        held.append(book.high_flow(sensor))
    got = [(device, event.type, event.at) for device, event in events]
    assert got == expected(sim, begin)
    assert {kind for _, kind, _ in got} >= {"leak", "high_flow"}
    assert all(event.title and event.message for _, event in events)
    assert held.count(True) == 6  # an hour of 10-minute polls
    assert held[-1] is False
    assert poll(AlertBook(tmp_path, sim.clock.now), client) == []

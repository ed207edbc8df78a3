"""Upload outages in the model: held minutes, release, device state, exact sums."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.simulator.account import PlannedOutage, SimConfig
from bridge.simulator.clock import SimClock
from bridge.simulator.model import Model
from bridge.simulator.outages import Outage, held_spans, without_spans
from bridge.simulator.timebase import to_minutes

LA = ZoneInfo("America/Los_Angeles")
FORMAT = "%Y-%m-%d %H:%M:%S"
START = datetime(2026, 3, 10, 18, 30, 15, tzinfo=UTC)
T1 = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
T2 = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def make(**config: object) -> tuple[Model, SimClock]:
    # The demo leak, begun two hours before the clock starts, keeps every minute from
    # 09:00 wet, so a held minute is told from a dry one.
    clock = SimClock(T1 - timedelta(hours=4), speed=0)
    settings_ = {"leak": True, **config}
    model = Model(SimConfig(**settings_), clock.now)  # type: ignore[arg-type]  # mixed values
    clock.set(START)
    return model, clock


def local(when: datetime) -> str:
    return when.astimezone(LA).strftime(FORMAT)


def minutes(model: Model, since: datetime, until: datetime) -> list[float]:
    """The MIN series of the first sensor from `since` through `until` (ASC)."""
    device = model.account.sensors[0]
    query = {
        "request_id": "q",
        "bucket": "MIN",
        "since_datetime": local(since),
        "until_datetime": local(until),
    }
    answer = model.query(device, {"queries": [query]})["q"]
    return [float(item["value"]) for item in answer]  # type: ignore[arg-type]  # numbers


def truths(model: Model, since: datetime, count: int) -> list[float]:
    sensor = model.account.sensors[0].id
    return [
        model.truth(sensor, since + k * MINUTE, since + (k + 1) * MINUTE)
        for k in range(count)
    ]


def test_minutes_inside_an_outage_read_zero_until_its_end_plus_latency() -> None:
    """Held minutes read 0, the rest their truth; at end + latency all read true."""
    model, clock = make()
    sensor = model.account.sensors[0].id
    model.add_outage(sensor, T1, T2)
    since = T1 - 10 * MINUTE
    true = truths(model, since, 130)  # 10 before the outage, 120 inside
    assert all(value > 0 for value in true)
    clock.set(T2 - 10 * MINUTE)  # visible up to 16:48 with two minutes of latency
    assert minutes(model, since, T2 - 13 * MINUTE) == true[:10] + [0.0] * 108
    clock.set(T2 + 2 * MINUTE - timedelta(seconds=1))
    assert minutes(model, since, T2 - MINUTE) == true[:10] + [0.0] * 120
    clock.set(T2 + 2 * MINUTE)
    assert minutes(model, since, T2 - MINUTE) == true


def test_the_sensor_and_its_bridge_read_disconnected_and_last_seen_at_the_start() -> (
    None
):
    """During an outage both devices say connected false, last_seen frozen at T1."""
    model, clock = make(sensors=2, timezones=("America/Los_Angeles", "Europe/Berlin"))
    quiet, other = model.account.sensors
    bridge = model.account.device(str(quiet.bridge_id))
    assert bridge is not None
    model.add_outage(quiet.id, T1, T2)
    clock.set(T1 + 30 * MINUTE)
    for device in (quiet, bridge):
        data = model.device_json(device, location=False, user=False)
        assert (data["connected"], data["last_seen"]) == (
            False,
            "2026-03-10T15:00:00.000Z",
        )
    assert model.device_json(other, location=False, user=False)["connected"] is True
    assert model.active_flow(quiet)["gpm"] == 0.0
    clock.set(T2 + timedelta(seconds=45))
    data = model.device_json(quiet, location=False, user=False)
    assert (data["connected"], data["last_seen"]) == (True, "2026-03-10T17:00:40.000Z")
    assert model.active_flow(quiet)["active"] is True  # Flume hears the leak again


def test_truth_never_sees_an_outage() -> None:
    """/_sim/truth reports the water itself, held or not."""
    model, clock = make()
    sensor = model.account.sensors[0].id
    before = model.truth(sensor, T1, T2)
    model.add_outage(sensor, T1, None)
    clock.set(T2)
    assert model.truth(sensor, T1, T2) == before > 0


def test_an_open_outage_holds_until_released_at_the_end_of_the_minute() -> None:
    """Without an end the minutes stay held; release ends it at the next minute."""
    model, clock = make()
    sensor = model.account.sensors[0].id
    model.add_outage(sensor, T1, None)
    clock.set(T1 + timedelta(hours=20, seconds=30))
    assert set(minutes(model, T1, T1 + timedelta(hours=19))) == {0.0}
    assert model.release_outages(sensor) == 1
    assert model.release_outages(sensor) == 0
    [item] = model.outages.all()
    assert item.end == to_minutes(T1 + timedelta(hours=20, minutes=1))
    clock.advance(150)  # past the minute's end plus two minutes of latency
    count = 20 * 60
    assert minutes(model, T1, T1 + (count - 1) * MINUTE) == truths(model, T1, count)


def test_overlapping_outages_each_hold_until_their_own_release() -> None:
    """The longer of two overlapping outages keeps its own span held."""
    model, clock = make()
    sensor = model.account.sensors[0].id
    model.add_outage(sensor, T1, T1 + 60 * MINUTE)
    model.add_outage(sensor, T1 + 30 * MINUTE, T1 + 120 * MINUTE)
    clock.set(T1 + 61 * MINUTE)  # the first is held until T1 + 62
    assert minutes(model, T1, T1 + 58 * MINUTE) == [0.0] * 59
    clock.set(T1 + 62 * MINUTE)
    seen = minutes(model, T1, T1 + 59 * MINUTE)
    assert seen == truths(model, T1, 30) + [0.0] * 30


def test_planned_outages_come_from_the_config() -> None:
    """SimConfig.outages name sensors by number; bad ones are refused at once."""
    planned = PlannedOutage(2, T1, T2)
    model, _ = make(sensors=2, outages=(planned,))
    [item] = model.outages.all()
    start, end = int(to_minutes(T1)), int(to_minutes(T2))
    assert item == Outage(model.account.sensors[1].id, start, end)
    with pytest.raises(ValueError, match="sensor 3"):
        SimConfig(sensors=2, outages=(PlannedOutage(3, T1, T2),))
    with pytest.raises(ValueError, match="end after"):
        SimConfig(outages=(PlannedOutage(1, T2, T1),))


def test_bad_outages_are_refused() -> None:
    """Bridges, reversed spans, naive times and unknown devices raise."""
    model, _ = make()
    sensor = model.account.sensors[0].id
    bridge = str(model.account.sensors[0].bridge_id)
    with pytest.raises(ValueError, match="not a water sensor"):
        model.add_outage(bridge, T1, T2)
    with pytest.raises(ValueError, match="end after"):
        model.add_outage(sensor, T2, T1)
    with pytest.raises(ValueError, match="no time zone"):
        model.add_outage(sensor, T1.replace(tzinfo=None), T2)
    with pytest.raises(KeyError):
        model.add_outage("404", T1, T2)


def test_held_spans_merge_and_end_with_the_latency() -> None:
    """Overlapping or touching spans merge; a span is released at end + latency."""
    outages = [
        Outage("s", 10, 20),
        Outage("s", 15, 30),
        Outage("s", 30, 40),
        Outage("s", 50, None),
    ]
    assert held_spans(outages, 21.9, 2) == [(10, 40), (50, None)]
    assert held_spans(outages, 22, 2) == [(15, 40), (50, None)]
    assert held_spans(outages, 42, 2) == [(50, None)]


def steady(instants: Sequence[float]) -> list[float]:
    return [float(x) for x in instants]


def test_without_spans_takes_out_exactly_the_held_water() -> None:
    """With a gallon a minute, a level drops by the held minutes before it."""
    levels = without_spans(steady, [(10, 20), (30, None)])
    assert levels([0, 5, 15, 25, 35]) == [0, 5, 10, 15, 20]
    assert without_spans(steady, []) is steady


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    starts=st.lists(st.integers(-3000, 0), min_size=1, max_size=3),
    lengths=st.lists(st.integers(1, 1500), min_size=3, max_size=3),
    later=st.integers(0, 1600),
)
def test_series_and_sums_equal_the_visible_truth(
    starts: list[int], lengths: list[int], later: int
) -> None:
    """With any outages a day's SUM equals its minutes and the truth not held back."""
    model, clock = make(latency_minutes=0)
    sensor = model.account.sensors[0].id
    spans = []
    for start, length in zip(starts, lengths, strict=False):
        begin = START.replace(second=0) + start * MINUTE
        model.add_outage(sensor, begin, begin + length * MINUTE)
        spans.append((begin, begin + length * MINUTE))
    clock.advance(later * 60)
    now = clock.now().replace(second=0)
    since = now - 2 * 1440 * MINUTE
    until = now - MINUTE
    series = minutes(model, since, until)
    expected = [
        0.0 if any(a <= m < b and now < b for a, b in spans) else t
        for m, t in zip(
            (since + k * MINUTE for k in range(len(series))),
            truths(model, since, len(series)),
            strict=True,
        )
    ]
    assert series == expected
    device = model.account.sensors[0]
    query = {
        "request_id": "sum",
        "bucket": "DAY",
        "operation": "SUM",
        "since_datetime": local(since),
        "until_datetime": local(until),
    }
    [total] = model.query(device, {"queries": [query]})["sum"]
    first_day = since.astimezone(LA).replace(hour=0, minute=0).astimezone(UTC)
    head = minutes(model, first_day, since - MINUTE) if first_day < since else []
    assert total["value"] == sum(head) + sum(series)


def heartbeats(model: Model) -> list[tuple[str, str, object]]:
    return sorted(
        (str(n["created_datetime"]), str(n["device_id"]), n["extra"])
        for n in model.notifications()
        if n["type"] == 8
    )


def test_the_bridge_notifies_its_disconnection_and_return_once_per_span() -> None:
    """Overlapping outages behind one Bridge give one notice when it goes, one back."""
    model, clock = make(sensors=2)  # one location: both sensors share the Bridge
    first, second = model.account.sensors
    model.add_outage(first.id, T1, T1 + 60 * MINUTE)
    model.add_outage(second.id, T1 + 30 * MINUTE, T2)
    gone = {"event_rule_name": "Bridge Disconnection", "connected": False}
    back = {"event_rule_name": "Bridge Disconnection", "connected": True}
    bridge = str(first.bridge_id)
    clock.set(T1 - MINUTE)
    assert heartbeats(model) == []
    clock.set(T1 + 90 * MINUTE)
    assert heartbeats(model) == [("2026-03-10T15:00:00.000Z", bridge, gone)]
    clock.set(T2)
    assert heartbeats(model) == [
        ("2026-03-10T15:00:00.000Z", bridge, gone),
        ("2026-03-10T17:00:00.000Z", bridge, back),
    ]
    ids = [n["id"] for n in model.notifications()]
    assert len(ids) == len(set(ids))

"""One truth behind every answer: DAY sums, MIN buckets and truth agree exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.simulator.account import SimConfig
from bridge.simulator.clock import SimClock
from bridge.simulator.model import Model

ZONES = ("America/Los_Angeles", "Europe/Berlin")
DST_DAYS = (
    date(2024, 3, 10),
    date(2024, 11, 3),
    date(2024, 3, 31),
    date(2024, 10, 27),
    date(2025, 3, 9),
    date(2025, 10, 26),
)
FACTORS = {
    "GALLONS": 1.0,
    "LITERS": 3.785411784,
    "CUBIC_FEET": 231 / 1728,
    "CUBIC_METERS": 0.003785411784,
}
FORMAT = "%Y-%m-%d %H:%M:%S"
# The autouse environment fixture is harmless to share between examples.
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
days = st.one_of(
    st.sampled_from(DST_DAYS), st.dates(date(2023, 1, 1), date(2026, 12, 1))
)


def make_model(tz: str) -> tuple[Model, str]:
    # A dripping leak under every sampled day, and a strong one that starts and stops
    # mid-minute on a DST day, so leak edges are exercised too.
    clock = SimClock(datetime(2022, 12, 31, tzinfo=UTC), speed=0.0)
    model = Model(SimConfig(seed=7, timezones=(tz,), leak=True), clock.now)
    sensor = model.account.sensors[0].id
    clock.set(datetime(2024, 3, 10, 9, 17, 20, tzinfo=UTC))
    model.start_leak(sensor, 1.5)
    clock.set(datetime(2024, 3, 10, 13, 41, 30, tzinfo=UTC))
    model.stop_leak(sensor)
    clock.set(datetime(2027, 1, 1, tzinfo=UTC))
    return model, sensor


MODELS = {tz: make_model(tz) for tz in ZONES}


def ask(model: Model, device_id: str, **query: object) -> list[dict[str, object]]:
    device = model.device(device_id)
    assert device is not None
    return model.query(device, {"queries": [{"request_id": "q", **query}]})["q"]


def value(item: dict[str, object]) -> float:
    number = item["value"]
    assert isinstance(number, float | int)
    return float(number)


def midnight(day: date, zone: ZoneInfo) -> datetime:
    # In UTC: arithmetic between datetimes sharing a ZoneInfo ignores DST changes.
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def floor_to(when: datetime, minutes: int) -> datetime:
    step = 60 * minutes
    return datetime.fromtimestamp(when.timestamp() // step * step, UTC)


@PROPERTY
@given(tz=st.sampled_from(ZONES), day=days, units=st.sampled_from(sorted(FACTORS)))
def test_a_day_sum_equals_its_minutes_equals_truth(
    tz: str, day: date, units: str
) -> None:
    """A DAY SUM equals the sum of the day's MIN buckets and truth, on DST days too."""
    model, device_id = MODELS[tz]
    zone = ZoneInfo(tz)
    window = {"since_datetime": f"{day} 00:00:00", "until_datetime": f"{day} 23:59:00"}
    day_sum = ask(
        model, device_id, bucket="DAY", operation="SUM", units=units, **window
    )
    minutes = ask(model, device_id, bucket="MIN", units=units, **window)
    start, end = midnight(day, zone), midnight(day + timedelta(1), zone)
    truth = model.truth(device_id, start, end)
    assert len(minutes) == (end - start) / timedelta(minutes=1)
    total = sum(value(item) for item in minutes)
    if units == "GALLONS":
        assert value(day_sum[0]) == total == truth
    else:
        assert value(day_sum[0]) == pytest.approx(truth * FACTORS[units], rel=1e-9)
        assert total == pytest.approx(truth * FACTORS[units], rel=1e-9)


def covered(
    bucket: str, since: datetime, until: datetime, zone: ZoneInfo
) -> tuple[datetime, datetime]:
    """The span the buckets holding since..until cover, by plain datetime arithmetic."""
    if bucket == "DAY":
        start = midnight(since.astimezone(zone).date(), zone)
        return start, midnight(until.astimezone(zone).date() + timedelta(1), zone)
    # Both zones have whole-hour offsets, so their local hours start on UTC hours.
    minutes = 1 if bucket == "MIN" else 60
    return floor_to(since, minutes), floor_to(until, minutes) + timedelta(
        minutes=minutes
    )


@PROPERTY
@given(
    tz=st.sampled_from(ZONES),
    day=days,
    offset=st.integers(0, 1439),
    length=st.integers(0, 3 * 1440),
    bucket=st.sampled_from(["MIN", "HR", "DAY"]),
    operation=st.sampled_from(["SUM", "AVG", "MIN", "MAX", "CNT"]),
)
def test_any_series_sums_to_truth_and_operations_reduce_it(
    tz: str, day: date, offset: int, length: int, bucket: str, operation: str
) -> None:
    """Over any span the buckets sum to truth, and an operation reduces the series."""
    model, device_id = MODELS[tz]
    zone = ZoneInfo(tz)
    local_midnight = datetime(day.year, day.month, day.day)  # noqa: DTZ001 (wall time)
    naive_since = local_midnight + timedelta(minutes=offset)
    naive_until = naive_since + timedelta(minutes=length)
    since = naive_since.replace(tzinfo=zone).astimezone(UTC)
    until = naive_until.replace(tzinfo=zone).astimezone(UTC)
    if until < since:
        return  # since in the spring-forward gap, until just after it: an empty span
    query = {
        "bucket": bucket,
        "since_datetime": naive_since.strftime(FORMAT),
        "until_datetime": naive_until.strftime(FORMAT),
    }
    values = [value(item) for item in ask(model, device_id, **query)]
    reduced = ask(model, device_id, operation=operation, **query)
    assert sum(values) == model.truth(device_id, *covered(bucket, since, until, zone))
    expected = {
        "SUM": sum(values),
        "AVG": sum(values) / len(values),
        "MIN": min(values),
        "MAX": max(values),
        "CNT": len(values),
    }[operation]
    assert reduced == [{"value": expected}]


@PROPERTY
@given(
    start=st.datetimes(datetime(2024, 1, 1), datetime(2025, 12, 31)),  # noqa: DTZ001 (naive bounds, made UTC below)
    latency=st.floats(0, 30),
)
def test_latency_hides_exactly_the_minutes_not_yet_delivered(
    start: datetime, latency: float
) -> None:
    """A minute reads its truth once it ended `latency` minutes ago, else zero."""
    zone = ZoneInfo("Europe/Berlin")
    now = start.replace(tzinfo=UTC)
    config = SimConfig(
        seed=3, timezones=(zone.key,), latency_minutes=latency, leak=True
    )
    model = Model(config, lambda: now)
    device_id = model.account.sensors[0].id
    naive_since = (now - timedelta(minutes=45)).astimezone(zone).strftime(FORMAT)
    result = ask(model, device_id, bucket="MIN", since_datetime=naive_since)
    # Read back as the API reads it (fold=0), in case it lies in a repeated hour.
    since = datetime.strptime(naive_since, FORMAT).replace(tzinfo=zone).astimezone(UTC)
    begin = floor_to(since, 1)
    assert len(result) == (floor_to(now, 1) - begin) / timedelta(minutes=1) + 1
    for item in result:
        minute_end = begin + timedelta(minutes=1)
        delivered = minute_end + timedelta(minutes=latency) <= now
        expected = model.truth(device_id, begin, minute_end) if delivered else 0.0
        assert item == {
            "datetime": begin.astimezone(zone).strftime(FORMAT),
            "value": expected,
        }
        begin = minute_end

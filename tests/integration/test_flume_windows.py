"""Query windows against the simulator: every window's value equals /_sim/truth.

Nights are dry in the household model, and DST changes happen at night, so each
scenario lays a staircase of leaks (a new rate every 17 minutes from a day before its
first check) under the household's water: a window that is a minute or an hour off,
too long or too short, then reads a different number from the truth.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bridge.flume.buckets import buckets, value
from bridge.flume.client import FlumeClient
from bridge.flume.windows import Window, queries, usage_windows
from bridge.models import Point
from bridge.simulator.server import Simulator
from tests.support.clock import utc
from tests.support.flume import WiringFactory
from tests.support.simulator import SimFactory, truth

LA = "America/Los_Angeles"
BERLIN = "Europe/Berlin"
STEP = timedelta(minutes=17)  # leak staircase: a new rate this often
TIMEOUT = 10


def local(tz: str, *parts: int) -> datetime:
    """A local wall time in `tz` (first occurrence) as an aware UTC instant."""
    year, month, day, hour, minute, second = parts
    wall = datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(tz))
    return wall.astimezone(UTC)


def every(first: datetime, last: datetime, minutes: int) -> list[datetime]:
    count = int((last - first) / timedelta(minutes=minutes)) + 1
    return [first + k * timedelta(minutes=minutes) for k in range(count)]


# Each scenario: a zone and the instants to check (odd seconds, so `now` is floored).
SCENARIOS = {
    # 02:00 PST -> 03:00 PDT at 10:00 UTC; a 23-hour day; last_24 across the gap.
    "LA spring-forward": (
        LA,
        every(utc(2026, 3, 8, 9, 20, 37), utc(2026, 3, 8, 11, 40, 37), 10)
        + every(utc(2026, 3, 9, 9, 30, 5), utc(2026, 3, 9, 10, 30, 5), 15)
        + [local(LA, 2026, 3, 8, 23, 59, 40), local(LA, 2026, 3, 9, 0, 0, 1)],
    ),
    # 01:00-02:00 local twice: [08:00, 09:00) PDT and [09:00, 10:00) PST UTC.
    "LA fall-back": (
        LA,
        every(utc(2026, 11, 1, 7, 40, 11), utc(2026, 11, 1, 11, 20, 11), 10)
        + every(utc(2026, 11, 2, 8, 50, 11), utc(2026, 11, 2, 10, 40, 11), 10)
        + [local(LA, 2026, 11, 1, 23, 59, 40)],
    ),
    # 02:00 CET -> 03:00 CEST at 01:00 UTC.
    "Berlin spring-forward": (
        BERLIN,
        every(utc(2026, 3, 29, 0, 20, 50), utc(2026, 3, 29, 2, 40, 50), 10)
        + every(utc(2026, 3, 30, 0, 50, 2), utc(2026, 3, 30, 1, 30, 2), 20)
        + [local(BERLIN, 2026, 3, 29, 23, 59, 40)],
    ),
    # 02:00-03:00 local twice: [00:00, 01:00) CEST and [01:00, 02:00) CET UTC.
    "Berlin fall-back": (
        BERLIN,
        every(utc(2026, 10, 24, 23, 40, 29), utc(2026, 10, 25, 2, 40, 29), 10)
        + every(utc(2026, 10, 26, 0, 0, 29), utc(2026, 10, 26, 2, 0, 29), 20)
        + [local(BERLIN, 2026, 10, 25, 23, 59, 40)],
    ),
    # Lord Howe falls back by half an hour: 02:00 +11 -> 01:30 +10:30 at 15:00 UTC.
    "Lord Howe fall-back": (
        "Australia/Lord_Howe",
        every(utc(2026, 4, 4, 14, 40, 3), utc(2026, 4, 4, 16, 20, 3), 10),
    ),
}
for _zone in (LA, BERLIN):
    SCENARIOS[f"{_zone} week"] = (  # Sunday to Monday
        _zone,
        [local(_zone, 2026, 3, 15, 23, 59, 40)]
        + [local(_zone, 2026, 3, 16, 0, m, 20) for m in (0, 1, 7)],
    )
    SCENARIOS[f"{_zone} month"] = (  # February's last minute to March
        _zone,
        [local(_zone, 2026, 2, 28, 23, 59, 40)]
        + [local(_zone, 2026, 3, 1, 0, m, 20) for m in (0, 5)],
    )
    SCENARIOS[f"{_zone} year"] = (  # New Year's Eve to a Friday, 1 January
        _zone,
        [local(_zone, 2026, 12, 31, 23, 59, 40)]
        + [local(_zone, 2027, 1, 1, 0, m, 20) for m in (0, 1, 12)],
    )


class Checker:
    """Walks one simulator forward in time: lays leaks and checks windows."""

    def __init__(self, sim: Simulator, client: FlumeClient, tz: str) -> None:
        self.sim = sim
        self.client = client
        self.tz = tz
        self.device = sim.model.account.sensors[0].id
        self.steps = 0

    def truth(self, since: datetime, until: datetime) -> float:
        """GET /_sim/truth: the gallons in [since, until)."""
        return truth(self.sim, self.device, since, until)

    def at(self, when: datetime) -> None:
        """Set the simulated clock (in process: scenery, not under test)."""
        self.sim.clock.set(when)

    def lay_leak(self) -> None:
        """Start the next leak rate of the staircase (0.01 .. 0.97 gpm)."""
        rate = 0.01 + (self.steps * 37 % 97) / 100
        self.sim.model.start_leak(self.device, rate)
        self.steps += 1

    def check(self, now: datetime) -> dict[str, float]:
        """Query every window at `now`; each value must equal the truth."""
        windows = usage_windows(now, self.tz, minutes=15)
        answer = self.client.query(self.device, queries(windows))
        found = {}
        for window in windows:
            points = answer[window.request_id]
            found[window.request_id] = value(window, points)
            expected = self.truth(window.start, window.end)
            assert found[window.request_id] == pytest.approx(expected, abs=1e-9), (
                window.request_id,
                now,
            )
        minutes = next(w for w in windows if w.request_id == "minutes")
        self.check_minutes(minutes, answer["minutes"])
        return found

    def check_minutes(self, window: Window, points: list[Point]) -> None:
        """The minute series has the 15 minutes before `end`, each one right."""
        series = buckets(window, points)
        starts = [start for start, _ in series]
        assert starts == [
            window.end - k * timedelta(minutes=1) for k in range(15, 0, -1)
        ]
        for start, gallons in (series[0], series[-1]):  # the sum covers the rest
            expected = self.truth(start, start + timedelta(minutes=1))
            assert gallons == pytest.approx(expected, abs=1e-9), start


def timeline(instants: list[datetime]) -> list[tuple[datetime, str]]:
    """Leak steps from a day before the first check, merged with the checks."""
    first, last = min(instants), max(instants)
    steps = every(first - timedelta(hours=25), last, 17)
    events = [(t, "leak") for t in steps] + [(t, "check") for t in instants]
    return sorted(events)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_window_equals_the_truth(
    name: str, sim_factory: SimFactory, wire: WiringFactory
) -> None:
    """Around DST changes and calendar edges, every window reads exactly the truth."""
    tz, instants = SCENARIOS[name]
    sim = sim_factory(timezones=(tz,), latency_minutes=0, rate_limit=10_000)
    checker = Checker(sim, FlumeClient(wire(sim).http, wire(sim).tokens), tz)
    seen: list[dict[str, float]] = []
    for when, what in timeline(instants):
        checker.at(when)
        if what == "leak":
            checker.lay_leak()
        else:
            seen.append(checker.check(when))
    # The staircase makes every trailing window wet, so a wrong span cannot hide.
    assert all(found["last_60_min"] > 0 for found in seen)


def test_with_data_latency_each_window_holds_the_water_seen_so_far(
    sim_factory: SimFactory, wire: WiringFactory
) -> None:
    """With 3 minutes of latency, windows read the truth up to end - 3 min.

    The last minutes of the series read 0 until their data arrives, which is why the
    series is read again on the next cycle.
    """
    now = utc(2026, 3, 10, 18, 30, 15)
    sim = sim_factory(latency_minutes=3, rate_limit=10_000)
    checker = Checker(sim, FlumeClient(wire(sim).http, wire(sim).tokens), LA)
    checker.at(now - timedelta(minutes=20))
    checker.lay_leak()
    checker.at(now)
    windows = usage_windows(now, LA, minutes=15)
    answer = checker.client.query(checker.device, queries(windows))
    seen = now.replace(second=0) - timedelta(minutes=3)
    for window in windows:
        expected = checker.truth(window.start, min(window.end, seen))
        assert value(window, answer[window.request_id]) == pytest.approx(expected)
    series = buckets(windows[0], answer["minutes"])
    assert [gallons for _, gallons in series[-3:]] == [0.0, 0.0, 0.0]
    assert all(gallons > 0 for _, gallons in series[:-3])

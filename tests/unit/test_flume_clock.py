"""ServerClock: Date headers parsed, garbage and jitter ignored, one line for skew."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.flume.clock import ServerClock, parse_http_date
from tests.support.clock import FakeClock

HOST = datetime(2026, 3, 10, 18, 30, 15, tzinfo=UTC).timestamp()
LOGGER = "bridge.flume.clock"


def header(timestamp: float) -> str:
    """The Date header a server sends at `timestamp` (whole seconds, GMT)."""
    return format_datetime(datetime.fromtimestamp(int(timestamp), UTC), usegmt=True)


def test_parses_the_three_date_formats_http_allows() -> None:
    """IMF-fixdate and the obsolete RFC 850 and asctime forms name one instant."""
    assert parse_http_date("Tue, 10 Mar 2026 18:30:15 GMT") == HOST
    assert parse_http_date("Tue, 10 Mar 2026 20:30:15 +0200") == HOST
    assert parse_http_date("Tuesday, 10-Mar-26 18:30:15 GMT") == HOST
    assert parse_http_date("Tue Mar 10 18:30:15 2026") == HOST


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        "",
        "yesterday",
        "Tue, 10 Mar",
        "Tue, 99 Mar 2026 18:30:15 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Tue, 10 Mar 1970 18:30:15 GMT",
    ],
)
def test_garbage_is_ignored_at_debug(
    garbage: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    """A missing, malformed or implausible Date leaves the offset alone."""
    clock = ServerClock(FakeClock(HOST))
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        clock.observe(garbage)
    assert clock.offset == 0.0
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]


def test_now_is_the_host_time_plus_the_offset() -> None:
    """After one answer from a server an hour ahead, now() is the server's time."""
    host = FakeClock(HOST)
    clock = ServerClock(host, host)
    clock.observe(header(HOST + 3600))
    assert clock.offset == 3600.5  # the middle of the header's second
    host.now += 42.25
    assert clock.now() == datetime.fromtimestamp(HOST + 3642.75, UTC)
    assert clock.now().tzinfo is UTC


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    skew=st.floats(min_value=-1e6, max_value=1e6),
    fraction=st.floats(min_value=0.0, max_value=0.999),
)
def test_now_is_within_two_seconds_of_the_server(skew: float, fraction: float) -> None:
    """Half a second of rounding plus 1.5 s of ignored jitter is the worst case."""
    host = FakeClock(HOST)
    host.now += fraction
    clock = ServerClock(host, host)
    clock.observe(header(host.now + skew))
    assert abs(clock.offset - skew) <= 2.0


def test_changes_under_a_second_and_a_half_are_jitter() -> None:
    """Whole-second headers wobble; only a real change moves the offset."""
    host = FakeClock(HOST)
    clock = ServerClock(host, host)
    clock.observe(header(HOST + 100))
    host.now += 0.9  # the next header is still the same second, or one later
    clock.observe(header(HOST + 100))
    clock.observe(header(HOST + 101.4))
    assert clock.offset == 100.5
    clock.observe(header(HOST + 103))
    assert clock.offset == pytest.approx(102.6)


def test_a_small_host_error_is_not_an_offset() -> None:
    """A host clock under 1.5 s from the middle of the header's second keeps zero."""
    host = FakeClock(HOST)
    host.now += 1.9
    clock = ServerClock(host, host)
    clock.observe(header(HOST))
    assert clock.offset == 0.0
    host.now -= 2.8
    clock.observe(header(HOST))
    assert clock.offset == 0.0


def test_one_info_line_when_the_host_clock_is_a_minute_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Skew over 60 s is said once, with its size and direction; less is not."""
    host = FakeClock(HOST)
    clock = ServerClock(host, host)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        clock.observe(header(HOST + 59))
        assert caplog.records == []
        clock.observe(header(HOST - 7200))
        clock.observe(header(HOST + 7200))
        clock.observe(header(HOST - 7200))
    assert clock.offset == -7199.5
    assert [r.getMessage() for r in caplog.records] == [
        "the host clock is 7200 s ahead of Flume's; using Flume's time"
    ]


def test_the_info_line_says_behind_for_a_slow_host(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A host clock stuck at boot time is behind Flume's."""
    host = FakeClock(HOST)
    clock = ServerClock(host, host)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        clock.observe(header(HOST + 86400))
    assert "86400 s behind Flume's" in caplog.text

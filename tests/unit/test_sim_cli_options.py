"""The simulate options of issue 13, parsed into the SimConfig they describe."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import pytest

from bridge.simulator.account import PlannedOutage
from bridge.simulator.behaviour import Behaviour
from bridge.simulator.cli import add_arguments, config_from

T1 = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
T2 = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_arguments(parser)
    return parser.parse_args(argv)


def test_the_defaults_are_the_documented_reading_with_headers() -> None:
    """Without options: headers on, no other client, documented reading, no limits."""
    config = config_from(parse())
    assert (config.behaviour, config.outages) == (Behaviour(), ())


def test_every_option_lands_in_the_config() -> None:
    """Outages (sensor 1 by default), the other client, readings and limits."""
    config = config_from(
        parse(
            *("--sensors", "2", "--outage", "2026-12-01T18:00Z/2026-12-01T20:00Z"),
            *("--outage", "2@2026-12-01T18:00+00:00/2026-12-01T20:00Z"),
            *("--other-client", "60", "--no-rate-headers", "--reading", "ungrouped"),
            *("--sort", "desc", "--max-queries", "10", "--max-min-hours", "24"),
        )
    )
    assert config.outages == (PlannedOutage(1, T1, T2), PlannedOutage(2, T1, T2))
    assert config.behaviour == Behaviour(
        rate_headers=False,
        other_client_per_hour=60,
        reading="ungrouped",
        sort="desc",
        max_queries=10,
        max_min_hours=24,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ("--outage", "2026-12-01T18:00Z"),
        ("--outage", "two@2026-12-01T18:00Z/2026-12-01T20:00Z"),
        ("--outage", "2026-12-01T18:00/2026-12-01T20:00Z"),
        ("--reading", "grouped"),
        ("--sort", "newest"),
    ],
)
def test_malformed_values_are_argument_errors(argv: tuple[str, ...]) -> None:
    """A malformed outage, reading or order is refused by the parser."""
    with pytest.raises(argparse.ArgumentError):
        parse(*argv)

"""Away mode's topics: the retained state is the bridge's own, the command is parsed."""

from __future__ import annotations

import pytest

from bridge.config import Settings
from bridge.contract import Topics

TOPICS = Topics.of(Settings())


def test_the_away_mode_state_is_owned_and_purgeable() -> None:
    """`flume/<location_id>/away_mode` is retained by the bridge: purge may clear it."""
    assert TOPICS.away_mode(10_001) == "flume/10001/away_mode"
    assert TOPICS.is_owned("flume/10001/away_mode")
    assert "flume/+/away_mode" in TOPICS.owned_filters()
    assert not TOPICS.is_owned("flume/10001/away_mode/set")  # never retained by us
    assert not TOPICS.is_owned("flume/home/away_mode")


@pytest.mark.parametrize(
    ("topic", "location_id"),
    [
        ("flume/10001/away_mode/set", 10_001),
        ("flume/+/away_mode/set", None),
        ("flume/home/away_mode/set", None),
        ("flume/10001/away_mode", None),
        ("flume/10001/away_mode/set/x", None),
        ("other/10001/away_mode/set", None),
        ("flume/command/refresh", None),
    ],
)
def test_only_a_location_id_command_topic_is_read(
    topic: str, location_id: int | None
) -> None:
    """The command topic names a location by its digits; anything else is no command."""
    assert TOPICS.away_location_of(topic) == location_id
    assert TOPICS.away_mode_set(10_001) == "flume/10001/away_mode/set"

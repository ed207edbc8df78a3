"""Ownership: purge may clear exactly the retained topics the bridge publishes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bridge.config import Settings
from bridge.contract import Contract, Topics
from bridge.models import Device, Location
from tests.support.contract import device_state

HOME = Location(1, "Home", "UTC")
DEVICES = [
    Device("6248148189204194986", 1, 1, HOME),
    Device("6248148189204194987", 2, 1, HOME, bridge_id="6248148189204194986"),
]
NOW = datetime(2026, 11, 28, 12, 34, tzinfo=UTC)
SETTINGS = [
    {},
    {"mqtt_base_topic": "home/flume", "ha_discovery_prefix": "ha/discovery"},
    {"ha_discovery_schema": "component"},
]
FOREIGN = [
    "homeassistant/status",  # Home Assistant's own birth and will
    "flume/command/refresh",  # commands are never retained by the bridge
    "flume/6248148189204194987/event",  # events are not retained
    "flume/bridge/state",  # not a Flume device id
    "flume/6248148189204194987/state/extra",
    "zigbee2mqtt/bridge/state",
    "homeassistant/device/0x00158d0001/config",  # another bridge's device
    "homeassistant/sensor/flume_6248148189204194987/today/state",
    "homeassistant/light/flume_6248148189204194987/today/config",
    "homeassistant/sensor/ecowitt_123/today/config",
    "homeassistant/device/flume_mqtt_other/config",  # another base topic's service
    "homeassistant/device/flume_12ab/config",
]


def matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching for `+` (the only wildcard the filters use)."""
    wanted, parts = topic_filter.split("/"), topic.split("/")
    return len(wanted) == len(parts) and all(
        w in ("+", p) for w, p in zip(wanted, parts, strict=True)
    )


def published(settings: Settings) -> set[str]:
    """Every retained topic the bridge publishes for DEVICES."""
    made = Contract.of(settings, version="1")
    messages = [
        made.payloads.status(True),
        *made.discovery.configs(DEVICES),
        *(device_state(made, d, NOW) for d in DEVICES),
        made.payloads.availability(DEVICES[1].id, True),
    ]
    assert all(m.retain for m in messages)
    topics = {m.topic for m in messages}
    return topics | {f"{settings.mqtt_base_topic}/diagnostics"}


@pytest.mark.parametrize("options", SETTINGS, ids=["default", "custom", "component"])
def test_every_retained_topic_published_is_owned_and_subscribed(
    options: dict[str, Any],
) -> None:
    """Each retained topic the bridge publishes is owned and under a purge filter."""
    settings = Settings(**options)
    filters = Topics.of(settings).owned_filters()
    for topic in published(settings):
        assert Topics.of(settings).is_owned(topic), topic
        assert any(matches(f, topic) for f in filters), topic


@pytest.mark.parametrize("topic", FOREIGN)
def test_topics_of_others_are_not_owned(topic: str) -> None:
    """Home Assistant's, other programs' and non-retained topics are left alone."""
    assert not Topics.of(Settings()).is_owned(topic)


def test_removal_topics_are_owned() -> None:
    """What removal empties, purge would clear too: the same ownership."""
    settings = Settings()
    removed = Contract.of(settings, version="1").discovery.removals(["42"])
    assert removed
    assert all(Topics.of(settings).is_owned(m.topic) for m in removed)


def test_device_ids_narrow_the_flume_devices() -> None:
    """Given the account's ids, another account's Flume devices are not owned."""
    settings = Settings()
    mine, theirs = (
        "homeassistant/device/flume_1/config",
        "homeassistant/device/flume_2/config",
    )
    assert Topics.of(settings).is_owned(mine, device_ids={"1"})
    assert not Topics.of(settings).is_owned(theirs, device_ids={"1"})
    assert Topics.of(settings).is_owned(
        "homeassistant/device/flume_mqtt/config", device_ids=()
    )
    # The state topics are under this bridge's own base topic: always its own.
    assert Topics.of(settings).is_owned("flume/2/state", device_ids={"1"})


def test_a_base_topic_elsewhere_owns_nothing_of_the_default() -> None:
    """With MQTT_BASE_TOPIC=home/flume, `flume/...` belongs to someone else."""
    settings = Settings(mqtt_base_topic="home/flume")
    assert not Topics.of(settings).is_owned("flume/status")
    assert not Topics.of(settings).is_owned("flume/1/state")
    assert Topics.of(settings).is_owned("home/flume/1/state")
    assert not Topics.of(settings).is_owned("homeassistant/device/flume_mqtt/config")
    assert Topics.of(settings).is_owned(
        "homeassistant/device/flume_mqtt_home_flume/config"
    )


def test_device_ids_are_read_from_the_bridge_s_own_device_topics() -> None:
    """Purge learns this bridge's devices from its state and availability topics."""
    settings = Settings(mqtt_base_topic="home/flume")
    assert Topics.of(settings).device_id_of("home/flume/42/state") == "42"
    assert Topics.of(settings).device_id_of("home/flume/42/availability") == "42"
    for other in ("home/flume/42/event", "flume/42/state", "home/flume/status"):
        assert Topics.of(settings).device_id_of(other) is None, other

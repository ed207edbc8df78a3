"""When MqttPublisher re-sends its snapshot: broker restarts and HA births."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator

import pytest

from bridge.models import Message
from bridge.mqtt import MqttPublisher, Timing
from tests.support.broker import Broker
from tests.support.clock import FakeClock
from tests.support.mqtt import Seen, Subscriber, broker_settings, subscriber

CONFIG = "homeassistant/device/123/config"
STATE = "flume/123/state"
BIRTH = "homeassistant/status"


def state(today: float) -> Message:
    return Message(STATE, f'{{"today": {today}}}'.encode(), retain=True)


@pytest.fixture
def make(broker: Broker) -> Iterator[Callable[..., MqttPublisher]]:
    """Build connected publishers with a discovery config and a state published."""
    made: list[MqttPublisher] = []

    def build(
        timing: Timing, clock: Callable[[], float] = time.monotonic
    ) -> MqttPublisher:
        publisher = MqttPublisher(
            broker_settings(broker),
            clock=clock,
            rng=random.Random(4),  # noqa: S311  # jitter, not cryptography
            timing=timing,
        )
        made.append(publisher)
        publisher.start()
        publisher.wait_connected(10)
        publisher.publish(Message(CONFIG, b'{"name": "Home"}', retain=True))
        publisher.publish(state(1.0))
        return publisher

    yield build
    for publisher in made:
        publisher.stop(timeout=2)


def pump_until(
    publisher: MqttPublisher, sub: Subscriber, done: Callable[[list[Seen]], bool]
) -> float:
    """Pump as a main loop would until `done(seen)`; return when that became true."""
    deadline = time.monotonic() + 15
    while not done(sub.seen):
        assert time.monotonic() < deadline, f"timed out; seen {sub.topics()}"
        assert publisher.pump(timeout=0.05) == []
    return time.monotonic()


def republished(seen: list[Seen]) -> bool:
    topics = {(s.topic, s.payload) for s in seen}
    return {("flume/status", b"online"), (CONFIG, b'{"name": "Home"}')} <= topics and (
        STATE,
        b'{"today": 2.0}',
    ) in topics


def test_a_broker_restart_is_survived_and_everything_republished(
    broker: Broker,
    make: Callable[..., MqttPublisher],
    record_property: Callable[[str, object], None],
) -> None:
    """Status, discovery and the newest state are back within 10 s of a restart."""
    publisher = make(Timing())
    broker.stop()
    down_until = time.monotonic() + 1.5
    while time.monotonic() < down_until:  # the main loop keeps going while it is down
        publisher.publish(state(2.0))
        assert publisher.pump(timeout=0.1) == []
    assert not publisher.connected
    broker.start()
    back = time.monotonic()
    with subscriber(broker) as sub:
        done = pump_until(publisher, sub, republished)
    record_property("republished_after_s", round(done - back, 2))
    assert done - back < 10
    assert publisher.connected


def test_births_within_the_delay_cause_one_resend_after_it(
    broker: Broker,
    make: Callable[..., MqttPublisher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Three HA births in a row: one re-send, not before the drawn delay, no flood."""
    caplog.set_level(logging.DEBUG, logger="bridge.mqtt")
    clock = FakeClock(1000.0)
    publisher = make(Timing(birth_delay=(2.0, 5.0)), clock)
    with subscriber(broker) as sub:
        sub.wait_topic(STATE)
        for _ in range(3):
            sub.send(BIRTH, b"online")
        while (
            "already planned" not in caplog.text
            or caplog.text.count("already planned") < 2
        ):
            publisher.pump(timeout=0.05)
        clock.now += 1.9  # under the smallest delay: nothing yet
        publisher.pump(timeout=0.1)
        assert publisher.resends == 1  # the connect only
        clock.now += 3.2  # past the largest delay
        pump_until(publisher, sub, lambda seen: len(ours(seen)) >= 5)
        publisher.pump(timeout=0.3)  # time for a flood to show, if there were one
        again = [(s.topic, s.retained) for s in ours(sub.seen)][3:]
    assert again == [(CONFIG, False), (STATE, False)]
    assert publisher.resends == 2


def ours(seen: list[Seen]) -> list[Seen]:
    """What the publisher sent: everything but the test's own births."""
    return [s for s in seen if s.topic != BIRTH]


def test_a_birth_after_the_resend_plans_another(
    broker: Broker, make: Callable[..., MqttPublisher]
) -> None:
    """Each HA restart gets its own re-send once the previous one went out."""
    publisher = make(Timing(birth_delay=(0.2, 0.3)))
    with subscriber(broker) as sub:
        for expected in (2, 3):
            sub.send(BIRTH, b"online")
            while publisher.resends < expected:
                publisher.pump(timeout=0.05)
        # retained on subscribe, then two re-sends
        sub.wait_for(lambda seen: [s.topic for s in seen].count(CONFIG) == 3)


@pytest.mark.parametrize("retain", [False, True], ids=["offline", "retained-online"])
def test_ha_offline_and_replayed_births_cause_no_resend(
    broker: Broker, make: Callable[..., MqttPublisher], retain: bool
) -> None:
    """HA's `offline` and a retained `online` replayed on subscribe are no births."""
    with subscriber(broker) as sub:
        sub.send(BIRTH, b"online" if retain else b"offline", retain=retain)
        publisher = make(Timing(birth_delay=(0.0, 0.0)))
        publisher.pump(timeout=0.3)
    assert publisher.resends == 1

"""Recovering lost meter counts from the bridge's own retained states on the broker.

When both meter files are unreadable (`Meter.lost`), the newest `total` the bridge
published is still on the broker, retained in `<base>/<id>/state` with the span it
covers. Taking it back before anything is published keeps `total` from falling; the
minutes after its `total_through` are back-filled from Flume like any downtime.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Final

from bridge.config import Settings
from bridge.contract import Topics
from bridge.errors import MqttError
from bridge.meter import Meter, Reading
from bridge.models import UNIT_SYSTEMS
from bridge.mqtt.tools import retained

log = logging.getLogger(__name__)

# How long a start with a lost meter waits for the broker (it may boot after us).
RECALL_TIMEOUT: Final = 30.0
DUST: Final = 1e-3  # gallons: more than rounding `total` may take below the offset
GALLONS_PER: Final = {
    system.volume: system.per_gallon for system in UNIT_SYSTEMS.values()
}

Fetch = Callable[[Sequence[str]], Mapping[str, bytes]]


def recover_from_broker(settings: Settings, meter: Meter) -> None:
    """Restore the counts of a lost meter from the broker's retained states."""
    if meter.lost:
        recover(meter, Topics.of(settings), settings.meter_offset, _fetch(settings))


def recover(meter: Meter, topics: Topics, offset: float, fetch: Fetch) -> None:
    """Restore every device count the meter lacks from its retained state."""
    try:
        found = fetch([topics.device("+", "state")])
    except MqttError as error:
        log.error(
            "could not read the retained states to recover the meter (%s): "
            "every count starts afresh",
            error,
        )
        return
    restored = 0
    for topic, payload in sorted(found.items()):
        device_id = topics.device_id_of(topic)
        if device_id is not None:
            restored += _restore(meter, device_id, payload, offset)
    log.warning(
        "sensor counts recovered from their retained states: %d; a sensor "
        "without one starts counting afresh",
        restored,
    )


def _restore(meter: Meter, device_id: str, payload: bytes, offset: float) -> bool:
    """Restore one device's count from its retained state; whether it was taken."""
    try:
        reading = reading_of(payload, offset)
    except ValueError as error:
        log.warning(
            "the retained state of %s holds no usable total (%s): its count starts "
            "afresh",
            device_id,
            error,
        )
        return False
    if reading is None or not meter.restore(device_id, reading):
        return False
    log.warning(
        "recovered the count of %s from its retained state: %.3f gal from %s "
        "through %s; the minutes since are back-filled from Flume",
        device_id,
        reading.gallons,
        reading.since.isoformat(),
        reading.through.isoformat(),
    )
    return True


def reading_of(payload: bytes, offset: float) -> Reading | None:
    """The count a state published: `total` less METER_OFFSET, in gallons.

    None for a state without a count (a Flume Bridge's, or a sensor never counted).

    Raises:
        ValueError: not a sensor state as the bridge publishes it, or a `total`
            below METER_OFFSET (published under another offset).
    """
    try:
        state = _object(json.loads(payload))
        if state.get("total") is None:
            return None
        total, per_gallon = _number(state["total"]), GALLONS_PER[str(state["unit"])]
        since, through = _minute(state["total_since"]), _minute(state["total_through"])
    except (TypeError, KeyError, RecursionError) as error:
        raise ValueError(f"{type(error).__name__}: {error}") from error
    gallons = (total - offset) / per_gallon
    if not math.isfinite(gallons) or gallons < -DUST or since > through:
        raise ValueError(
            f"an impossible count: total {total!r} from {since} to {through}"
        )
    return Reading(max(0.0, gallons), since, through)


def _object(value: object) -> dict[str, object]:
    if not isinstance(value, dict):
        raise TypeError("not a JSON object")
    return value


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{value!r} is not a number")
    return float(value)


def _minute(text: object) -> datetime:
    if not isinstance(text, str):
        raise TypeError(f"{text!r} is not a time")
    moment = datetime.fromisoformat(text)
    if moment.utcoffset() is None or moment.second or moment.microsecond:
        raise ValueError(f"{text!r} is not an aware whole minute")
    return moment.astimezone(UTC)


def _fetch(settings: Settings) -> Fetch:
    def fetch(filters: Sequence[str]) -> Mapping[str, bytes]:
        return retained(settings, filters, timeout=RECALL_TIMEOUT)

    return fetch

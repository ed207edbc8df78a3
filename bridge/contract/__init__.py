"""The MQTT contract, pure: topics, every payload, the entity table and discovery."""

from __future__ import annotations

from dataclasses import dataclass

import bridge
from bridge.config import Settings
from bridge.contract.discovery import Discovery
from bridge.contract.payloads import Payloads
from bridge.contract.topics import Topics
from bridge.models import UNIT_SYSTEMS, UnitSystem

__all__ = ["Contract", "Discovery", "Payloads", "Topics"]


@dataclass(frozen=True, slots=True)
class Contract:
    """What the bridge publishes: topics by MQTT_BASE_TOPIC, volumes by UNITS."""

    topics: Topics
    units: UnitSystem
    payloads: Payloads
    discovery: Discovery
    version: str

    @classmethod
    def of(cls, settings: Settings, version: str | None = None) -> Contract:
        """The contract of `settings`; `version` defaults to the package's."""
        version = bridge.__version__ if version is None else version
        topics, units = Topics.of(settings), UNIT_SYSTEMS[settings.units]
        payloads = Payloads(topics, units)
        return cls(
            topics, units, payloads, Discovery(settings, units, version), version
        )

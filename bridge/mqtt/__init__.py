"""The MQTT side over paho-mqtt 2.x: the publisher, the check probe and the purge."""

from __future__ import annotations

from bridge.mqtt.commands import Command, SetAway
from bridge.mqtt.connection import Reconnect
from bridge.mqtt.publisher import MqttPublisher, Timing
from bridge.mqtt.tools import describe, probe, purge

__all__ = [
    "Command",
    "MqttPublisher",
    "Reconnect",
    "SetAway",
    "Timing",
    "describe",
    "probe",
    "purge",
]

"""The contract's messages of a device as the device list tells it (no usage yet)."""

from __future__ import annotations

from datetime import datetime

from bridge.contract import Contract
from bridge.models import BridgeState, Device, Message, SensorState
from bridge.service.board import Board


def listed_state(
    contract: Contract, device: Device, now: datetime
) -> SensorState | BridgeState:
    """The state the board makes of a device just listed: usage fields null."""
    board = Board(contract.units, 0.0)
    board.replace_devices([device])
    state = board.state(device.id, now)
    assert state is not None, f"device type {device.type} has no state"
    return state


def device_state(contract: Contract, device: Device, now: datetime) -> Message:
    """The state message of a device just listed, a sensor's or a Flume Bridge's."""
    return contract.payloads.state(listed_state(contract, device, now))

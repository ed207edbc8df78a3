"""Shared vocabulary: frozen, slotted dataclasses passed between the bridge's layers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

SENSOR = 2  # Flume device type of a water sensor
BRIDGE = 1  # Flume device type of the Flume Bridge hub


@dataclass(frozen=True, slots=True)
class Token:
    """An OAuth grant: the JWT access token, its refresh token and when it expires."""

    access_token: str
    refresh_token: str
    user_id: int
    expires_at: datetime  # aware UTC, from the JWT's `exp`

    def __repr__(self) -> str:
        return (
            f"Token(user_id={self.user_id}, expires_at={self.expires_at.isoformat()})"
        )


@dataclass(frozen=True, slots=True)
class Location:
    """Where devices are installed; `tz` decides every query window."""

    id: int
    name: str
    tz: str
    away_mode: bool | None = None


@dataclass(frozen=True, slots=True)
class Device:
    """A Flume sensor (type 2) or bridge (type 1) as listed by the API."""

    id: str
    type: int
    location_id: int | None
    location: Location | None
    bridge_id: str | None = None
    connected: bool | None = None
    last_seen: datetime | None = None
    battery_level: str | None = None  # "low" | "medium" | "high"; absent on bridges
    product: str | None = None

    @property
    def is_sensor(self) -> bool:
        """Whether the device measures water."""
        return self.type == SENSOR

"""The simulated account (user, locations, devices), deterministic from the config."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bridge.simulator.behaviour import Behaviour
from bridge.simulator.timebase import is_zone

BRIDGE = 1
DEFAULT_BEHAVIOUR = Behaviour()
SENSOR = 2
MAX_SENSORS = 20
LOCATION_NAMES = ("Home", "Cabin", "Office", "Studio", "Workshop", "Lake House")
BATTERY_LEVELS = ("low", "medium", "high")
# Fixed rather than derived from the clock, so the account is a function of the config.
SIGNUP_DATETIME = "2021-03-14T17:02:11.000Z"


@dataclass(frozen=True, slots=True)
class PlannedOutage:
    """An upload outage known at start: sensor number (from 1), aware times."""

    sensor: int
    since: datetime
    until: datetime

    def problem(self, sensors: int) -> str | None:
        """Why the outage cannot be, or None."""
        if not 1 <= self.sensor <= sensors:
            return f"an outage names sensor {self.sensor}, not one of 1..{sensors}"
        if self.since.utcoffset() is None or self.until.utcoffset() is None:
            return "an outage's times need a time zone"
        if self.until <= self.since:
            return "an outage must end after it starts"
        return None


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything that shapes the simulation; equal configs give equal accounts."""

    seed: int = 1
    sensors: int = 1  # water sensors (type 2); 1..20
    timezones: tuple[str, ...] = ("America/Los_Angeles",)  # one location per zone
    latency_minutes: float = 2.0  # a minute becomes visible this long after it ends
    token_ttl: int = 604800  # access-token lifetime, seconds (Flume: 7 days)
    rate_limit: int = 120  # requests per user per rolling hour
    leak: bool = False  # a slow leak on the first sensor
    client_id: str = "demo-client"
    client_secret: str = "demo-secret"  # noqa: S105 (demo account)
    username: str = "demo@example.com"
    password: str = "demo-password"  # noqa: S105 (demo account)
    history_days: int = 30  # how far back alerts/notifications are generated
    behaviour: Behaviour = (
        DEFAULT_BEHAVIOUR  # headers, limits, readings (changeable live)
    )
    outages: tuple[PlannedOutage, ...] = ()  # upload outages (more can be added live)

    def __post_init__(self) -> None:
        problems = [text for bad, text in self._checks() if bad]
        problems += [p for o in self.outages if (p := o.problem(self.sensors))]
        problems += [
            f"unknown time zone {tz!r}" for tz in self.timezones if not is_zone(tz)
        ]
        if problems:
            raise ValueError("; ".join(problems))

    def _checks(self) -> tuple[tuple[bool, str], ...]:
        return (
            (not 1 <= self.sensors <= MAX_SENSORS, f"sensors must be 1..{MAX_SENSORS}"),
            (not self.timezones, "at least one time zone is needed"),
            (self.latency_minutes < 0, "latency_minutes must not be negative"),
            (self.token_ttl < 1, "token_ttl must be positive"),
            (self.rate_limit < 1, "rate_limit must be positive"),
            (self.history_days < 0, "history_days must not be negative"),
        )


@dataclass(frozen=True, slots=True)
class Location:
    """A place with one Flume Bridge; its `tz` governs all local-time maths."""

    id: int
    name: str
    tz: str
    primary: bool
    postal_code: str

    @property
    def zone(self) -> ZoneInfo:
        """The location's time zone."""
        return ZoneInfo(self.tz)


@dataclass(frozen=True, slots=True)
class Device:
    """A Flume Bridge (type 1) or water sensor (type 2); its state lives in Model."""

    id: str
    type: int
    location_id: int
    bridge_id: str | None
    index: int  # position in the account, a small stable number for derived ids

    @property
    def is_sensor(self) -> bool:
        """Whether the device measures water."""
        return self.type == SENSOR


@dataclass(frozen=True, slots=True)
class Account:
    """The user; a location and a bridge per time zone; sensors dealt round-robin."""

    config: SimConfig
    user_id: int = field(init=False)
    locations: tuple[Location, ...] = field(init=False)
    devices: tuple[Device, ...] = field(init=False)

    def __post_init__(self) -> None:
        seed = self.config.seed
        base = 10_000 + derive(seed, "locations") % 90_000
        locations = tuple(
            Location(
                base + i,
                _location_name(i),
                tz,
                i == 0,
                f"9{derive(seed, 'zip', i) % 10_000:04d}",
            )
            for i, tz in enumerate(self.config.timezones)
        )
        object.__setattr__(self, "user_id", 1_000 + derive(seed, "user") % 900_000)
        object.__setattr__(self, "locations", locations)
        object.__setattr__(
            self, "devices", _devices(seed, locations, self.config.sensors)
        )

    @property
    def user(self) -> dict[str, object]:
        """The user object of `GET /users/{id}`."""
        return {
            "id": self.user_id,
            "email_address": self.config.username,
            "first_name": "Demo",
            "last_name": "User",
            "phone": "5555550100",
            "status": "Active",
            "type": "USER",
            "signup_datetime": SIGNUP_DATETIME,
        }

    @property
    def sensors(self) -> tuple[Device, ...]:
        """The water sensors, in account order."""
        return tuple(device for device in self.devices if device.is_sensor)

    @property
    def bridges(self) -> tuple[Device, ...]:
        """The Flume Bridges, in account order."""
        return tuple(device for device in self.devices if not device.is_sensor)

    def upload_path(self, device: Device) -> tuple[str, ...]:
        """The sensors whose data reach Flume through `device`: itself or a Bridge's."""
        if device.is_sensor:
            return (device.id,)
        return tuple(d.id for d in self.sensors if d.bridge_id == device.id)

    def device(self, device_id: str) -> Device | None:
        """Return the device with this id, or None."""
        return next((d for d in self.devices if d.id == device_id), None)

    def location(self, location_id: int) -> Location | None:
        """Return the location with this id, or None."""
        return next((loc for loc in self.locations if loc.id == location_id), None)

    def location_of(self, device: Device) -> Location:
        """Return the location a device of this account belongs to."""
        location = self.location(device.location_id)
        if location is None:
            raise KeyError(device.location_id)
        return location

    def location_json(self, location: Location) -> dict[str, object]:
        """The location object of `GET /users/{uid}/locations` (flume-api.md §3.6)."""
        return {
            "id": location.id,
            "user_id": self.user_id,
            "name": location.name,
            "primary_location": location.primary,
            "address": None,
            "address_2": None,
            "city": None,
            "state": None,
            "postal_code": location.postal_code,
            "country": None,
            "tz": location.tz,
            "installation": "DONE",
            "insurer_id": None,
            "building_type": "SINGLE_FAMILY_HOME",
            "away_mode": False,
            "usage_profile": _usage_profile(location.id),
        }


def derive(seed: int, *parts: object) -> int:
    """A stable 64-bit number from the seed and labels (never the salted `hash()`)."""
    text = "|".join(str(part) for part in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _device_id(seed: int, n: int) -> str:
    # 19 digits, above 2**53 like real ids: a client reading them as floats fails.
    return str(10**18 + derive(seed, "device", n) % (9 * 10**18))


def _devices(
    seed: int, locations: tuple[Location, ...], sensors: int
) -> tuple[Device, ...]:
    bridges = [
        Device(_device_id(seed, i), BRIDGE, loc.id, None, i)
        for i, loc in enumerate(locations)
    ]
    count = len(bridges)
    water = [
        Device(
            _device_id(seed, count + j),
            SENSOR,
            locations[j % count].id,
            bridges[j % count].id,
            count + j,
        )
        for j in range(sensors)
    ]
    return (*bridges, *water)


def _location_name(i: int) -> str:
    return LOCATION_NAMES[i] if i < len(LOCATION_NAMES) else f"Location {i + 1}"


def _usage_profile(location_id: int) -> dict[str, object]:
    return {
        "id": location_id,
        "score": 4,
        "residents": "3",
        "bathrooms": "2",
        "irrigation": "SPRINKLER",
        "irrigation_freq": "2_PER_WEEK",
        "irrigation_max_cycle": 45,
    }

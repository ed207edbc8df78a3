"""The simulated account: deterministic ids and layout, validated configuration."""

from __future__ import annotations

import pytest

from bridge.simulator.account import Account, SimConfig

ZONES = ("America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo")


def layout(account: Account) -> list[tuple[str, int, int, str | None]]:
    return [(d.id, d.type, d.location_id, d.bridge_id) for d in account.devices]


def test_the_same_seed_gives_the_same_account() -> None:
    """Two accounts from equal configs have identical ids and layout."""
    first = Account(SimConfig(seed=5, sensors=3, timezones=ZONES))
    second = Account(SimConfig(seed=5, sensors=3, timezones=ZONES))
    assert layout(first) == layout(second)
    assert first.user_id == second.user_id
    assert first.locations == second.locations


def test_another_seed_gives_other_ids() -> None:
    """Changing the seed changes every id."""
    first = Account(SimConfig(seed=1))
    second = Account(SimConfig(seed=2))
    assert first.user_id != second.user_id
    assert not {d.id for d in first.devices} & {d.id for d in second.devices}
    assert first.locations[0].id != second.locations[0].id


def test_device_ids_are_19_digit_strings_beyond_float_precision() -> None:
    """Ids look like Flume's: 19 decimal digits, larger than 2**53, all distinct."""
    account = Account(SimConfig(seed=11, sensors=20, timezones=ZONES))
    ids = [d.id for d in account.devices]
    assert len(set(ids)) == len(ids) == 23
    for device_id in ids:
        assert len(device_id) == 19
        assert device_id.isdecimal()
        assert int(device_id) > 2**53


def test_one_location_and_bridge_per_zone_and_sensors_dealt_round_robin() -> None:
    """Each zone is a location with a bridge; sensors alternate over the locations."""
    account = Account(SimConfig(sensors=5, timezones=ZONES))
    assert [loc.tz for loc in account.locations] == list(ZONES)
    assert [loc.name for loc in account.locations] == ["Home", "Cabin", "Office"]
    assert [loc.primary for loc in account.locations] == [True, False, False]
    bridges = [d for d in account.devices if d.type == 1]
    assert [b.location_id for b in bridges] == [loc.id for loc in account.locations]
    assert all(b.bridge_id is None for b in bridges)
    by_location = [s.location_id for s in account.sensors]
    ids = [loc.id for loc in account.locations]
    assert by_location == [ids[0], ids[1], ids[2], ids[0], ids[1]]
    for sensor in account.sensors:
        bridge = next(b for b in bridges if b.location_id == sensor.location_id)
        assert sensor.bridge_id == bridge.id


def test_lookups_find_devices_and_locations_by_id() -> None:
    """device() and location() find what the account holds and None otherwise."""
    account = Account(SimConfig(sensors=2))
    sensor = account.sensors[1]
    assert account.device(sensor.id) is sensor
    assert account.device("1") is None
    assert account.location(sensor.location_id) is account.location_of(sensor)
    assert account.location(-1) is None


def test_user_and_location_objects_have_flumes_fields() -> None:
    """The user and location objects carry every field of the API reference."""
    config = SimConfig(username="someone@example.org")
    account = Account(config)
    assert account.user == {
        "id": account.user_id,
        "email_address": "someone@example.org",
        "first_name": "Demo",
        "last_name": "User",
        "phone": "5555550100",
        "status": "Active",
        "type": "USER",
        "signup_datetime": "2021-03-14T17:02:11.000Z",
    }
    location = account.location_json(account.locations[0])
    assert set(location) == {
        "id", "user_id", "name", "primary_location", "address", "address_2", "city",
        "state", "postal_code", "country", "tz", "installation", "insurer_id",
        "building_type", "away_mode", "usage_profile",
    }  # fmt: skip
    assert location["tz"] == "America/Los_Angeles"
    assert location["away_mode"] is False
    assert location["user_id"] == account.user_id


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sensors": 0}, "sensors must be 1..20"),
        ({"sensors": 21}, "sensors must be 1..20"),
        ({"timezones": ()}, "at least one time zone"),
        ({"timezones": ("Europe/Atlantis",)}, "unknown time zone 'Europe/Atlantis'"),
        ({"latency_minutes": -1}, "latency_minutes"),
        ({"token_ttl": 0}, "token_ttl"),
        ({"rate_limit": 0}, "rate_limit"),
        ({"history_days": -1}, "history_days"),
    ],
)
def test_a_bad_config_is_refused_with_a_reason(
    changes: dict[str, object], message: str
) -> None:
    """SimConfig rejects values the simulator cannot honour, naming the field."""
    with pytest.raises(ValueError, match=message):
        SimConfig(**changes)  # type: ignore[arg-type]  # values of mixed types by design

"""Bodies of the `discovery` command: the account's devices, and the broker purge."""

from __future__ import annotations

import requests

from bridge import mqtt
from bridge.config import Settings
from bridge.discovery import is_owned, owned_topic_filters
from bridge.errors import ConfigError
from bridge.flume.budget import RequestBudget
from bridge.flume.client import FlumeClient
from bridge.flume.http import FlumeHttp
from bridge.flume.tokens import Credentials, TokenManager, TokenStore
from bridge.models import Device
from bridge.report import select_devices
from bridge.topics import device_id_of, device_topic_filters


def account_devices(
    settings: Settings, session: requests.Session, login: Credentials
) -> list[Device]:
    """The devices the bridge serves, listed with the service's saved token.

    Raises:
        ConfigError: FLUME_DEVICE_IDS names a device the account does not have.
        FlumeAuthError: Flume refused the client or the account.
        FlumeError: Flume could not be reached or answered nonsense.
    """
    budget = RequestBudget(settings.flume_requests_per_hour)
    http = FlumeHttp(session, settings.flume_api_url, settings.flume_timeout, budget)
    # The token file saves a login; a refresh here is saved there for the service.
    tokens = TokenManager(http, login, TokenStore(settings.state_dir))
    selected, unknown = select_devices(
        FlumeClient(http, tokens).devices(), settings.flume_device_ids
    )
    if unknown:
        raise ConfigError(
            f"FLUME_DEVICE_IDS: not in this account: {', '.join(unknown)}"
        )
    return selected


def purge_broker(settings: Settings) -> str:
    """Clear every retained topic the bridge owns on the broker; say how many.

    Discovery ids name no account, so the Flume devices to clear are those with a
    state or availability under this MQTT_BASE_TOPIC: another flume-mqtt process
    sharing the broker and discovery prefix keeps its devices.

    Raises:
        MqttAuthError: the broker refused the credentials or a certificate.
        MqttError: the broker could not be reached.
    """
    seen: set[str] = set()

    def note(topic: str) -> bool:
        device_id = device_id_of(topic, settings)
        if device_id is not None:
            seen.add(device_id)
        return False  # a first look only: nothing is cleared yet

    mqtt.purge(settings, device_topic_filters(settings), note)
    count = mqtt.purge(
        settings,
        owned_topic_filters(settings),
        lambda topic: is_owned(topic, settings, seen),
    )
    noun = "topic" if count == 1 else "topics"
    return f"purged {count} retained {noun} from {mqtt.describe(settings)}"

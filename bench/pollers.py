"""The two pollers compared: the bridge's Jobs.usage, and pyflume's FlumeData with paho.

Each logs in, finds the account's first sensor and publishes to the broker; `cycle()`
is one usage poll of that sensor and the publish of its state.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import paho.mqtt.client as mqtt
import requests
from paho.mqtt.enums import CallbackAPIVersion
from pyflume import FlumeAuth, FlumeData, FlumeDeviceList

from bench.common import DEMO
from bridge import app
from bridge.config import Settings
from bridge.flume.tokens import Credentials
from bridge.mqtt import MqttPublisher
from bridge.service import Jobs, Parts

HOST = "127.0.0.1"
PYFLUME_BASE = "https://api.flumetech.com"  # baked into pyflume's URL constants
SCAN_INTERVAL = timedelta(minutes=1)  # Home Assistant's flume integration
SENSOR_TYPE = 2


class Poller(Protocol):
    """One sensor's poll-and-publish, repeatable."""

    def cycle(self) -> None:
        """Poll the sensor once and publish what it read."""

    def close(self) -> None:
        """Disconnect from the broker and the simulator."""


class BridgePoller:
    """The service's own parts, as bridge.app wires them, minus the loop.

    Flume's clock and the request budget follow the simulated time (`now`), as they
    follow the wall clock in the service, where both move together.
    """

    def __init__(
        self, url: str, mqtt_port: int, state_dir: Path, now: Callable[[], float]
    ) -> None:
        settings = Settings(
            flume_api_url=url,
            mqtt_host=HOST,
            mqtt_port=mqtt_port,
            mqtt_client_id="bench-bridge",
            state_dir=state_dir,
        )
        self._publisher = MqttPublisher(settings)
        self._publisher.start()
        self._publisher.wait_connected()
        self._parts = bridge_parts(settings, now)
        self._jobs = Jobs(self._parts, self._publisher.publish, self._parts.now())
        self._jobs.devices()
        self._sensor = self._jobs.board.sensors()[0].id

    def cycle(self) -> None:
        """One usage poll through the real Jobs and usage code, and its publish."""
        self._jobs.usage(self._sensor)
        self._publisher.pump()

    def close(self) -> None:
        """Publish offline, disconnect, close the session."""
        self._publisher.stop()
        self._parts.close()


LOGIN = Credentials.of(DEMO.client_id, DEMO.client_secret, DEMO.username, DEMO.password)


def bridge_parts(settings: Settings, now: Callable[[], float]) -> Parts:
    """The parts as bridge.app wires them, on the clock `now` (epoch s)."""
    return app.parts(settings, LOGIN, seconds=now)


class Redirect(requests.Session):
    """Send pyflume's requests to the simulator: only the base URL changes."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def request(  # type: ignore[override]  # same call, another host
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Rewrite Flume's base URL to the simulator's."""
        local = self.base_url + url.removeprefix(PYFLUME_BASE)
        return super().request(method, local, *args, **kwargs)


class PyflumePoller:
    """What Home Assistant's flume integration does each minute, publishing to MQTT.

    FlumeData.update_force() is what HA's coordinator calls; update() is the same call
    behind a limiter that sleeps, which would only make the benchmark slower.
    """

    def __init__(
        self,
        url: str,
        mqtt_port: int,
        _state_dir: Path,
        _now: Callable[[], float],
    ) -> None:
        self._session = Redirect(url)
        auth = FlumeAuth(
            DEMO.username,
            DEMO.password,
            DEMO.client_id,
            DEMO.client_secret,
            http_session=self._session,
        )
        devices = FlumeDeviceList(auth, http_session=self._session).device_list
        sensor = next(d for d in devices if d["type"] == SENSOR_TYPE)
        self._topic = f"pyflume/{sensor['id']}/state"
        self._data = FlumeData(
            auth,
            sensor["id"],
            sensor["location"]["tz"],
            SCAN_INTERVAL,
            update_on_init=False,
            http_session=self._session,
        )
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, "bench-pyflume")
        self._client.connect(HOST, mqtt_port)
        self._client.loop_start()

    def cycle(self) -> None:
        """FlumeData.update_force() and one retained QoS 1 publish of its values."""
        self._data.update_force()
        document = {**self._data.values, "updated_at": _utc_now()}
        self._client.publish(self._topic, json.dumps(document), qos=1, retain=True)

    def close(self) -> None:
        """Disconnect and stop paho's thread."""
        self._client.disconnect()
        self._client.loop_stop()
        self._session.close()


def _utc_now() -> str:
    return datetime.now(UTC).isoformat()


POLLERS: dict[str, Callable[[str, int, Path, Callable[[], float]], Poller]] = {
    "bridge": BridgePoller,
    "pyflume": PyflumePoller,
}

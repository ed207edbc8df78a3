"""The service's Flume jobs: devices, usage, leaks and alerts, and what they publish."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bridge import usage
from bridge.alerts import AlertBook
from bridge.config import Settings
from bridge.devices import Board
from bridge.discovery import MessageBuilder
from bridge.errors import ConfigError, FlumeRateLimitError
from bridge.flume.budget import RequestBudget
from bridge.flume.client import FlumeClient
from bridge.flume.planner import Plan
from bridge.meter import Meter
from bridge.models import Diagnostics, Message
from bridge.report import select_devices

log = logging.getLogger(__name__)

# A usage answer that moves Flume's clock by more than this was asked for the
# wrong windows.
CLOCK_JUMP = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Parts:
    """The service's collaborators, built by the composition root."""

    settings: Settings
    client: FlumeClient
    budget: RequestBudget
    meter: Meter
    alerts: AlertBook
    builder: MessageBuilder
    now: Callable[[], datetime]  # Flume's clock (bridge.flume.serverclock)


class Jobs:
    """Runs each Flume call, keeps the board current and publishes what changed."""

    def __init__(
        self, parts: Parts, publish: Callable[[Message], None], started: datetime
    ) -> None:
        self._parts = parts
        self._client = parts.client
        self._builder = parts.builder
        self._send = publish
        self._started = started
        self.board = Board(parts.builder.units, parts.settings.meter_offset)
        self.plan: Plan | None = None
        self.last_error: str | None = None
        self.listed = False  # whether a device list has been taken yet
        self._sent: dict[str, bytes] = {}  # retained topic -> the payload sent last
        self._availability: dict[str, bool] = {}

    def devices(self) -> None:
        """List the devices; publish discovery for changes and each device's state.

        Raises:
            ConfigError: on the first list, FLUME_DEVICE_IDS names unknown devices.
        """
        self._room(2)  # devices, then locations
        found = self._client.devices()
        selected, unknown = select_devices(found, self._parts.settings.flume_device_ids)
        if unknown and not self.listed:
            raise ConfigError(
                f"FLUME_DEVICE_IDS: not in this account: {', '.join(unknown)}"
            )
        if unknown:
            log.warning("devices no longer in the account: %s", ", ".join(unknown))
        gone = self.board.replace_devices(selected)
        for message in self._builder.removal_messages(gone):
            self._publish(message)
        for message in self._builder.discovery_messages(self.board.devices()):
            self._publish(message)
        if not self.listed or gone:
            log.info("serving %s", _describe(self.board))
        self.listed = True
        for device in self.board.devices():
            self.publish_state(device.id)

    def usage(self, device_id: str) -> None:
        """Poll one sensor's usage (one request) and publish its state."""
        device = self.board.device(device_id)
        if device is None:
            return  # it left the account since the job was planned
        now = self._parts.now()
        reading = usage.poll(self._client, self._parts.meter, device, now)
        if abs(self._parts.now() - now) > CLOCK_JUMP:
            # Flume's clock was learnt anew from this very answer (the first after
            # a jump, or a host clock set at last): ask again for the right windows.
            log.info(
                "Flume's time moved by %s; polling %s again",
                self._parts.now() - now,
                device_id,
            )
            reading = usage.poll(
                self._client, self._parts.meter, device, self._parts.now()
            )
        self.board.set_usage(device_id, reading, self._parts.now())
        self.publish_state(device_id)

    def leaks(self, device_id: str) -> None:
        """Ask whether Flume sees a leak at one sensor (one request)."""
        if self.board.device(device_id) is None:
            return
        self.board.set_leak(device_id, self._client.leak_active(device_id))
        self.publish_state(device_id)

    def alerts(self) -> None:
        """Fetch new notifications and usage alerts (two requests); emit events."""
        self._room(2)
        since = self._parts.alerts.since()
        notes = self._client.notifications(since=since)
        fired = self._client.usage_alerts(since=since)
        for device_id, event in self._parts.alerts.update(notes, fired):
            log.info("event %s at %s: %s", event.type, device_id, event.title)
            self._send(self._builder.event_message(device_id, event))
        for device in self.board.sensors():
            high_flow = self._parts.alerts.high_flow(device.id)
            self.board.set_high_flow(device.id, high_flow)
            self.publish_state(device.id)

    def publish_state(self, device_id: str) -> None:
        """Publish a device's state and, for a sensor, its availability."""
        now = self._parts.now()
        state = self.board.state(device_id, now)
        if state is not None:
            self._publish(self._builder.state_message(state))
        self.publish_availability(device_id, now)

    def publish_availability(self, device_id: str, now: datetime) -> None:
        """Publish whether a sensor is online, when that changed."""
        device = self.board.device(device_id)
        if device is None or not device.is_sensor:
            return
        interval = self.plan.usage_interval if self.plan else 60
        online = self.board.available(device_id, now, interval)
        previous = self._availability.get(device_id)
        self._availability[device_id] = online
        if previous is not None and previous != online:
            log.info("sensor %s is %s", device_id, "online" if online else "offline")
        self._publish(self._builder.availability_message(device_id, online))

    def housekeeping(self) -> None:
        """Availability of every sensor (data goes stale) and the diagnostics."""
        now = self._parts.now()
        for device in self.board.sensors():
            self.publish_availability(device.id, now)
        self.publish_diagnostics()

    def publish_diagnostics(self) -> None:
        """Publish `<base>/diagnostics` (when it changed)."""
        plan = self.plan
        diagnostics = Diagnostics(
            version=self._builder.version,
            started_at=self._started,
            requests_per_hour=self._parts.settings.flume_requests_per_hour,
            plan={c.name: c.interval for c in plan.cadences()} if plan else {},
            requests_last_hour=self._parts.budget.used(),
            last_error=self.last_error,
            last_success=self.board.last_success(),
        )
        self._publish(self._builder.diagnostics_message(diagnostics))

    def _publish(self, message: Message) -> None:
        # Retained topics are sent when they change: the broker keeps the rest.
        if message.retain and self._sent.get(message.topic) == message.payload:
            return
        if message.retain:
            self._sent[message.topic] = message.payload
        self._send(message)

    def _room(self, requests: int) -> None:
        budget = self._parts.budget
        if requests > budget.per_hour - budget.reserve:
            # Permanent: no hour of this budget ever holds the calls in a row.
            raise ConfigError(
                f"FLUME_REQUESTS_PER_HOUR: {budget.per_hour} is too small to list "
                f"the devices ({requests} requests in a row); use at least "
                f"{requests + budget.reserve}"
            )
        wait = budget.available_in(room=requests)
        if wait > 0:
            raise FlumeRateLimitError(
                f"not sent: no room for {requests} requests in the budget; "
                f"next in {wait:.0f} s",
                status=None,
                retry_after=wait,
            )


def _describe(board: Board) -> str:
    sensors = len(board.sensors())
    others = len(board.devices()) - sensors
    return (
        f"{sensors} water sensor{'' if sensors == 1 else 's'} and "
        f"{others} other device{'' if others == 1 else 's'}"
    )

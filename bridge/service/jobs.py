"""The service's Flume jobs: devices, usage, leaks and alerts, and what they publish."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bridge.errors import BridgeError, ConfigError, FlumeRateLimitError
from bridge.flume.client import select_devices, served
from bridge.flume.planner import Plan, plan
from bridge.models import Device, Diagnostics, Event, Message, Usage
from bridge.service.away import AwayModes
from bridge.service.board import Board
from bridge.service.outbox import Outbox
from bridge.service.parts import Parts
from bridge.service.streaks import Failures, Streaks
from bridge.service.usage import counted, poll

log = logging.getLogger(__name__)

# A usage answer that moves Flume's clock by more than this was asked for the
# wrong windows.
CLOCK_JUMP = timedelta(minutes=1)


class Jobs:
    """The service's work and what it knows: the board, the plan, the failures.

    Each job is one Flume call or two; retained topics are published when they change.
    """

    def __init__(
        self, parts: Parts, publish: Callable[[Message], None], started: datetime
    ) -> None:
        self._parts = parts
        self._client = parts.client
        self._payloads = parts.contract.payloads
        self._outbox = Outbox(publish)
        self._started = started
        self.board = Board(parts.contract.units, parts.settings.meter_offset)
        self.plan: Plan | None = None  # None until the first device list
        self.failures = Failures(log)
        self.away = AwayModes(parts, self.board, self._outbox)
        self._availability: dict[str, bool] = {}
        self._streaks = Streaks(log)

    def devices(self) -> None:
        """List the devices; publish discovery for changes and each device's state.

        Raises:
            ConfigError: on the first list, FLUME_DEVICE_IDS names unknown devices.
        """
        self._room(2)  # devices, then locations
        first = not self.board.listed
        selected = self._served(self._client.devices(), strict=first)
        before = self.board.locations()
        gone = self.board.replace_devices(selected)
        self.away.note(before)
        for device in selected:  # a restart resumes the rules' values at once
            self.board.set_rules(device.id, self._parts.rules.tracker(device.id))
        self.away.clear(before)
        discovery = self._parts.contract.discovery
        for message in discovery.removals(gone) + discovery.configs(selected):
            self._outbox.publish(message)
        if first or gone:
            log.info("serving %s", _describe(self.board))
        self.replan()
        for device in selected:
            self.publish_state(device.id)
        self.away.publish()

    def replan(self) -> None:
        """Derive the plan for the sensors served and the budget others leave us."""
        if not self.board.listed:
            return
        sensors = max(1, len(self.board.sensors()))
        fresh = plan(self._parts.budget.planned(), sensors)
        self.plan = self.plan if fresh == self.plan else fresh

    def usage(self, device_id: str) -> None:
        """Poll one sensor's usage (one request) and publish its state.

        A sensor's first state after a start waits for this answer: the previous
        run's retained state holds every reading, and a state without them would
        blank them for every subscriber. When the first poll fails, a sensor the
        meter did not know before goes out with the meter's total (no retained
        readings to blank); one it knew stays as the broker retains it, until a
        leak, a high flow or a low battery is worth more than those readings.
        """
        device = self.board.device(device_id)
        if device is None:
            return  # it left the account since the job was planned
        known = self._parts.meter.reading(device_id) is not None
        try:
            reading = self._poll(device)
        except BridgeError:
            self.board.set_unanswered(device_id)
            if not known and self.board.held(device_id):
                self._release(device_id)
            self.publish_state(device_id)  # released, or urgent news held back
            raise
        self.board.set_usage(device_id, reading, self._parts.now())
        events = self._judge(device, reading)
        self.publish_state(device_id)
        for event in events:
            log.info(
                "event %s at %s: %s",
                event.type,
                device_id,
                event.message or event.title,
            )
            self._outbox.publish(self._payloads.event(device_id, event))

    def _judge(self, device: Device, usage: Usage) -> list[Event]:
        """Run the local rules over the answer's settled minutes: no request."""
        rules = self._parts.rules
        horizon = self._parts.meter.horizon(usage.updated_at)
        place = device.location
        away = place.away_mode if place else None
        since = self.away.since(place)
        events = rules.update(device.id, usage.spans, horizon, away, since)
        self.board.set_rules(device.id, rules.tracker(device.id))
        return events

    def _poll(self, device: Device) -> Usage:
        now, meter = self._parts.now(), self._parts.meter
        reading = poll(self._client, meter, device, now, self._streaks)
        if abs(self._parts.now() - now) > CLOCK_JUMP:
            # Flume's clock was learnt anew from this very answer (the first after
            # a jump, or a host clock set at last): ask again for the right windows.
            moved = self._parts.now() - now
            log.info("Flume's time moved by %s; polling %s again", moved, device.id)
            now = self._parts.now()
            again = poll(self._client, meter, device, now, self._streaks)
            # The first answer's minutes are counted: the rules must see them too.
            reading = dataclasses.replace(again, spans=reading.spans + again.spans)
        return reading

    def _release(self, device_id: str) -> None:
        """Let a sensor's first state out with the meter's count, the rest unknown."""
        count = self._parts.meter.reading(device_id)
        now = self._parts.now()
        self.board.release(device_id, counted(count, now) if count else None)

    def leaks(self, device_id: str) -> None:
        """Ask whether Flume sees a leak at one sensor (one request)."""
        if self.board.device(device_id) is None:
            return
        self.board.set_leak(device_id, self._client.leak_active(device_id))
        self.publish_state(device_id)

    def alerts(self) -> None:
        """Fetch new notifications and usage alerts (two requests); emit events."""
        self._room(2)
        book = self._parts.alerts
        since = book.since()
        notes = self._client.notifications(since=since)
        fired = self._client.usage_alerts(since=since)
        for device_id, event in book.update(notes, fired):
            log.info("event %s at %s: %s", event.type, device_id, event.title)
            self._outbox.publish(self._payloads.event(device_id, event))
        for device in self.board.sensors():
            self.board.set_high_flow(device.id, book.high_flow(device.id))
            self.publish_state(device.id)

    def publish_state(self, device_id: str) -> None:
        """Publish a device's state and, for a sensor, its availability.

        A sensor's state is held back until its first usage poll has answered.
        """
        now = self._parts.now()
        if self.board.held(device_id) and self.board.urgent(device_id):
            log.info("sensor %s: news before its first usage answer", device_id)
            self._release(device_id)
        state = None if self.board.held(device_id) else self.board.state(device_id, now)
        if state is not None:
            self._outbox.publish(self._payloads.state(state))
        self.publish_availability(device_id, now)

    def publish_availability(self, device_id: str, now: datetime) -> None:
        """Publish whether a sensor is online (data goes stale between polls)."""
        device = self.board.device(device_id)
        if device is None or not device.is_sensor:
            return
        interval = self.plan.usage_interval if self.plan else 60
        online = self.board.available(device_id, now, interval)
        previous = self._availability.get(device_id)
        self._availability[device_id] = online
        if previous is not None and previous != online:
            log.info("sensor %s is %s", device_id, "online" if online else "offline")
        self._outbox.publish(self._payloads.availability(device_id, online))

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
            version=self._parts.contract.version,
            started_at=self._started,
            requests_per_hour=self._parts.settings.flume_requests_per_hour,
            plan={c.name: c.interval for c in plan.cadences()} if plan else {},
            requests_last_hour=self._parts.budget.used(),
            last_error=self.failures.last_error,
            last_success=self.board.last_success(),
            flume_remaining=self._parts.budget.remaining(),
        )
        self._outbox.publish(self._payloads.diagnostics(diagnostics))

    def _served(self, devices: list[Device], *, strict: bool) -> list[Device]:
        """The devices FLUME_DEVICE_IDS selects; a chosen one gone is news once."""
        wanted = self._parts.settings.flume_device_ids
        if strict:
            return served(devices, wanted)
        chosen, unknown = select_devices(devices, wanted)
        for device_id in wanted:
            key = f"gone {device_id}"
            if device_id in unknown:
                self._streaks.warn(
                    key, "device %s is no longer in the account", device_id
                )
            else:
                self._streaks.clear(key, "device %s is in the account again", device_id)
        return chosen

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

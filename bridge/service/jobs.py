"""The service's Flume jobs: devices, usage, leaks and alerts, and what they publish."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bridge.alerts import AlertBook, RuleBook
from bridge.config import Settings
from bridge.contract import Contract
from bridge.errors import (
    BridgeError,
    ConfigError,
    FlumeRateLimitError,
)
from bridge.flume.budget import RequestBudget
from bridge.flume.client import FlumeClient, select_devices, served
from bridge.flume.planner import Plan, plan
from bridge.meter import Meter
from bridge.models import Device, Diagnostics, Event, Location, Message, Usage
from bridge.service.board import Board
from bridge.service.streaks import Streaks
from bridge.service.usage import counted, poll

log = logging.getLogger(__name__)

# A usage answer that moves Flume's clock by more than this was asked for the
# wrong windows.
CLOCK_JUMP = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Parts:
    """The service's collaborators, built by bridge.app."""

    settings: Settings
    client: FlumeClient
    budget: RequestBudget
    meter: Meter
    alerts: AlertBook
    rules: RuleBook
    contract: Contract
    now: Callable[[], datetime]  # Flume's clock (bridge.flume.clock)

    def close(self) -> None:
        """Save what the meter and the rules kept in memory; close the HTTP session."""
        self.meter.flush()
        self.rules.flush()
        self.client.close()


class Jobs:
    """The service's work and what it knows: the board, the plan, the last error.

    Each job is one Flume call or two; retained topics are published when they change.
    """

    def __init__(
        self, parts: Parts, publish: Callable[[Message], None], started: datetime
    ) -> None:
        self._parts = parts
        self._client = parts.client
        self._payloads = parts.contract.payloads
        self._send = publish
        self._started = started
        self.board = Board(parts.contract.units, parts.settings.meter_offset)
        self.plan: Plan | None = None  # None until the first device list
        self.last_error: str | None = None
        self.failures = 0  # failed jobs since the last success
        self._sent: dict[str, bytes] = {}  # retained topic -> the payload sent last
        self._availability: dict[str, bool] = {}
        self._streaks = Streaks(log)
        # Location id -> when (Flume's clock) its away mode was seen to change.
        self._away_since: dict[int, datetime] = {}

    def failed(self, label: str, error: BridgeError) -> None:
        """Note a job that failed (it is retried on the schedule)."""
        self.failures += 1
        # The first failure of a streak is news; the rest of an outage is detail.
        level = logging.WARNING if self.failures == 1 else logging.DEBUG
        log.log(level, "%s: %s", label, error)
        self.last_error = f"{label}: {error}"

    def crashed(self, label: str) -> None:
        """Note a job that raised what no job should (the loop logs the traceback)."""
        self.last_error = f"{label}: unexpected failure (see the log)"

    def succeeded(self) -> None:
        """Note a job that did its work: a streak of failures is over."""
        if self.failures:
            log.info("Flume answers again after %d failed jobs", self.failures)
        self.failures = 0

    def devices(self) -> None:
        """List the devices; publish discovery for changes and each device's state.

        Raises:
            ConfigError: on the first list, FLUME_DEVICE_IDS names unknown devices.
        """
        self._room(2)  # devices, then locations
        first = not self.board.listed
        selected = self._served(self._client.devices(), strict=first)
        before = self.board.locations()
        places = set(before)
        gone = self.board.replace_devices(selected)
        self._note_away(before)
        for device in selected:  # a restart resumes the rules' values at once
            self.board.set_rules(device.id, self._parts.rules.tracker(device.id))
        for location_id in places - set(self.board.locations()):
            self._publish(self._payloads.away_mode(location_id, None))
        discovery = self._parts.contract.discovery
        for message in discovery.removals(gone) + discovery.configs(selected):
            self._publish(message)
        if first or gone:
            log.info("serving %s", _describe(self.board))
        self.replan()
        for device in selected:
            self.publish_state(device.id)
        self.publish_away()

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
            self._publish(self._payloads.event(device_id, event))

    def _judge(self, device: Device, usage: Usage) -> list[Event]:
        """Run the local rules over the answer's settled minutes: no request."""
        rules = self._parts.rules
        horizon = self._parts.meter.horizon(usage.updated_at)
        place = device.location
        away = place.away_mode if place else None
        since = self._away_since.get(place.id) if place else None
        events = rules.update(device.id, usage.spans, horizon, away, since)
        self.board.set_rules(device.id, rules.tracker(device.id))
        return events

    def _note_away(self, before: dict[int, Location]) -> None:
        """Stamp the locations whose away mode changed from what `before` said.

        The rules judge minutes a few minutes old: each counts with the away mode
        it had, as far as the bridge knows (a change in Flume's app shows at the
        next device list).
        """
        for location_id, location in self.board.locations().items():
            old = before.get(location_id)
            if old is None or old.away_mode is None:
                continue  # not known before: no change to place in time
            if old.away_mode != location.away_mode:
                self._away_since[location_id] = self._parts.now()

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
            self._publish(self._payloads.event(device_id, event))
        for device in self.board.sensors():
            self.board.set_high_flow(device.id, book.high_flow(device.id))
            self.publish_state(device.id)

    def set_away(self, location_id: int, away: bool) -> None:
        """Set a location's away mode (one PATCH), and read it back if there is room.

        The switch shows Flume's real state: a refusal or a failure re-sends the
        state last read; a change not read back at once shows at the next device
        list.

        Raises:
            FlumeError: the PATCH (or the read after it) failed or had no room.
        """
        if location_id not in self.board.locations():
            log.info("away mode: no sensor served at location %s", location_id)
            return
        try:
            self._client.set_away(location_id, away)
        except BridgeError as error:
            # Said even inside a streak of failures, when the job's WARNING is DEBUG.
            log.info("away mode of location %s not set: %s", location_id, error)
            self.publish_away(again=location_id)
            raise
        word = "on" if away else "off"
        if self._parts.budget.available_in() > 0:
            log.info(
                "away mode of location %s set %s; read at the next list",
                location_id,
                word,
            )
            return
        before = self.board.locations()
        self.board.set_location(self._client.location(location_id))
        self._note_away(before)
        log.info("away mode of location %s set %s", location_id, word)
        self.publish_away()

    def publish_away(self, again: int | None = None) -> None:
        """Publish each served location's away mode as Flume last said it.

        `again`: a location whose state is re-sent even if unchanged (a command on
        it failed, and a switch may show what was asked rather than what is).
        """
        for location in self.board.locations().values():
            if location.away_mode is None:
                continue  # never read: no made-up OFF
            message = self._payloads.away_mode(location.id, location.away_mode)
            if location.id == again:
                self._sent[message.topic] = message.payload
                self._send(message)
            else:
                self._publish(message)

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
            self._publish(self._payloads.state(state))
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
        self._publish(self._payloads.availability(device_id, online))

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
            last_error=self.last_error,
            last_success=self.board.last_success(),
            flume_remaining=self._parts.budget.remaining(),
        )
        self._publish(self._payloads.diagnostics(diagnostics))

    def _publish(self, message: Message) -> None:
        # Retained topics are sent when they change: the broker keeps the rest.
        if message.retain and self._sent.get(message.topic) == message.payload:
            return
        if message.retain:
            self._sent[message.topic] = message.payload
        self._send(message)

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

"""The service loop: one main thread, a schedule.Scheduler, MQTT commands, systemd."""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Final, Protocol

import schedule

from bridge.errors import BridgeError, FlumeRateLimitError, MqttError
from bridge.flume.planner import Plan, duration, plan
from bridge.jobs import Jobs, Parts
from bridge.models import Message
from bridge.mqtt import Command

log = logging.getLogger(__name__)

TICK: Final = 0.5  # the longest wait of the loop: a stop is seen within a second
RETRY_MIN: Final = 30  # seconds before a failed job is tried again, at the least
STARTUP_RETRY: Final = 60  # between device-list attempts until the first succeeds
HOUSEKEEPING: Final = 60  # seconds between availability and diagnostics checks
# A refresh within this long of the last is ignored: a button pressed twice is one
# press. The budget still decides: a refresh never sends past it, but a burst of
# them spends the plan's spare, so the next planned polls may wait for a retry.
REFRESH_GAP: Final = 5.0
BROKER_WAIT: Final = 5.0  # at start: long enough to hear a refused login
STOP_TIMEOUT: Final = 1.5  # for the broker's ack of `offline` on stop


class Publisher(Protocol):
    """What the service needs of bridge.mqtt.MqttPublisher."""

    @property
    def connected(self) -> bool:
        """Whether the broker accepted us."""

    def start(self) -> None:
        """Connect in the background."""

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until connected and announced."""

    def publish(self, message: Message) -> None:
        """Send or keep one message."""

    def republish(self) -> None:
        """Re-send the retained snapshot."""

    def pump(self, timeout: float = 0.0) -> list[Command]:
        """Act on the broker's events; return commands."""

    def stop(self, timeout: float = 5.0) -> None:
        """Publish offline and disconnect."""


class Notifier(Protocol):
    """What the service needs of bridge.systemd.Notifier."""

    def watchdog_interval(self) -> float | None:
        """Seconds between pings, or None."""

    def ready(self) -> None:
        """Startup is complete."""

    def watchdog(self) -> None:
        """The main loop is alive."""

    def status(self, text: str) -> None:
        """A one-line status."""

    def stopping(self) -> None:
        """Shutting down."""


class Interrupted(BaseException):
    """A stop signal arrived while a job was waiting on Flume: abandon the job."""


class Service:
    """Polls Flume on the budget's plan and publishes, until `stop` is set."""

    def __init__(
        self,
        parts: Parts,
        publisher: Publisher,
        notifier: Notifier,
        stop: threading.Event,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._parts = parts
        self._publisher = publisher
        self._notifier = notifier
        self._stop = stop
        self._monotonic = monotonic
        self.jobs = Jobs(parts, publisher.publish, started=parts.now())
        self._scheduler = schedule.Scheduler()
        self._retrying: set[str] = set()
        self._sensors: list[str] = []  # the sensors the scheduled jobs poll
        self._busy = False  # inside a job: a stop signal interrupts it
        self._failures = 0  # failed jobs since the last success
        self._ready = False
        self._next_ping = -math.inf
        self._last_refresh = -math.inf
        self._status = ""

    def interrupt(self) -> None:
        """Stop soon (a signal handler's call): at once if a job waits on Flume."""
        self._stop.set()
        if self._busy:
            raise Interrupted

    def run(self) -> None:
        """Serve until stopped; publish `offline` and disconnect on the way out.

        Raises:
            BridgeError: a permanent one (credentials, configuration): exit 78.
        """
        self._publisher.start()
        try:
            self._wait_for_broker()
            self._add("devices", STARTUP_RETRY, self._devices, now=True)
            while not self._stop.is_set():
                self._scheduler.run_pending()
                for command in self._publisher.pump(self._idle()):
                    self._command(command)
                self._tick()
        except Interrupted:
            pass
        finally:
            self._busy = False
            log.info("stopping")
            self._notifier.stopping()
            self._publisher.stop(STOP_TIMEOUT)

    def _wait_for_broker(self) -> None:
        try:
            self._publisher.wait_connected(BROKER_WAIT)
        except MqttError as error:
            if error.permanent:
                raise
            log.warning("%s; polling Flume meanwhile", error)

    def _devices(self) -> None:
        self.jobs.devices()
        self._replan()

    def _replan(self) -> None:
        """Plan the jobs for the sensors now served; run new sensors' polls at once."""
        sensors = [device.id for device in self.jobs.board.sensors()]
        budget = self._parts.settings.flume_requests_per_hour
        fresh = plan(budget, max(1, len(sensors)))
        first = self.jobs.plan is None
        if not first and fresh == self.jobs.plan and self._sensors == sensors:
            return
        if not sensors:
            log.warning("no water sensor in the account: only devices and alerts")
        log.info("request plan: %s", fresh.describe())
        self.jobs.plan = fresh
        self._schedule(fresh, sensors, first)

    def _schedule(self, fresh: Plan, sensors: list[str], first: bool) -> None:
        known = set(self._sensors)
        self._sensors = sensors
        self._scheduler.clear()
        self._retrying.clear()
        self._add("devices", fresh.device_interval, self._devices)
        self._add("alerts", fresh.alert_interval, self.jobs.alerts, now=first)
        self._add("housekeeping", HOUSEKEEPING, self.jobs.housekeeping)
        for device_id in sensors:
            new = first or device_id not in known
            poll = _bound(self.jobs.usage, device_id)
            leaks = _bound(self.jobs.leaks, device_id)
            self._add("usage", fresh.usage_interval, poll, tag=device_id, now=new)
            self._add("leaks", fresh.leak_interval, leaks, tag=device_id, now=new)

    def _add(
        self,
        name: str,
        seconds: int,
        job: Callable[[], None],
        *,
        tag: str | None = None,
        now: bool = False,
    ) -> None:
        label = f"{name} {tag}" if tag else name
        entry = self._scheduler.every(seconds).seconds.do(self._run, label, job)
        if now:
            entry.next_run = dt.datetime.now()  # noqa: DTZ005 (schedule keeps naive local times)

    def _run(self, name: str, job: Callable[[], None]) -> None:
        """The job boundary: failures are logged and retried; permanent ones end it."""
        self._busy = True
        try:
            job()
        except FlumeRateLimitError as error:
            self._failed(name, error, job, error.retry_after)
        except BridgeError as error:
            if error.permanent:
                raise
            self._failed(name, error, job, None)
        except Exception:  # the job boundary: whatever happens, keep serving
            log.exception("unexpected failure in the %s job", name)
            self.jobs.last_error = f"{name}: unexpected failure (see the log)"
        else:
            self._succeeded()
        finally:
            self._busy = False
        self.jobs.publish_diagnostics()
        self._tick()

    def _failed(
        self,
        name: str,
        error: BridgeError,
        job: Callable[[], None],
        retry_after: float | None,
    ) -> None:
        self._failures += 1
        # The first failure of a streak is news; the rest of an outage is detail.
        level = logging.WARNING if self._failures == 1 else logging.DEBUG
        log.log(level, "%s: %s", name, error)
        self.jobs.last_error = f"{name}: {error}"
        self._retry(name, job, retry_after)

    def _succeeded(self) -> None:
        if self._failures:
            log.info("Flume answers again after %d failed jobs", self._failures)
        self._failures = 0

    def _retry(
        self, name: str, job: Callable[[], None], retry_after: float | None
    ) -> None:
        """Try a failed job again sooner than its interval, once."""
        entry = next((j for j in self._scheduler.jobs if _label(j) == name), None)
        delay = max(RETRY_MIN, math.ceil(retry_after or 0))
        if entry is None or name in self._retrying or delay >= _seconds(entry):
            return
        self._retrying.add(name)

        def again() -> type[schedule.CancelJob]:
            self._retrying.discard(name)
            self._run(name, job)
            return schedule.CancelJob

        self._scheduler.every(delay).seconds.do(again).tag("retry")
        log.debug("%s: trying again in %s", name, duration(delay))

    def _command(self, command: Command) -> None:
        if command is Command.REPUBLISH:
            log.info("republishing discovery and states on request")
            self._publisher.republish()
        elif command is Command.REFRESH:
            self._refresh()

    def _refresh(self) -> None:
        """Poll every sensor now, if the budget has room and none was just asked."""
        sensors = self.jobs.board.sensors()
        since = self._monotonic() - self._last_refresh
        if not sensors:
            log.info("refresh ignored: no water sensor to poll")
            return
        if since < REFRESH_GAP:
            log.info("refresh ignored: the last one was %.0f s ago", since)
            return
        budget = self._parts.budget
        # Never more room than a query may ever take: the reserve is for tokens.
        room = min(len(sensors), budget.per_hour - budget.reserve)
        wait = budget.available_in(room=room)
        if wait > 0:
            log.info("refresh ignored: the budget has room again in %.0f s", wait)
            return
        self._last_refresh = self._monotonic()
        log.info("refreshing %d sensors on request", len(sensors))
        for device in sensors:
            self._run(f"usage {device.id}", _bound(self.jobs.usage, device.id))

    def _idle(self) -> float:
        idle = self._scheduler.idle_seconds
        return TICK if idle is None else min(TICK, max(0.0, idle))

    def _tick(self) -> None:
        """Readiness, the watchdog and the status line, after each job and turn."""
        if not self._ready and self._publisher.connected and self._has_published():
            self._ready = True
            log.info("ready: first states published")
            self._notifier.ready()
        interval = self._notifier.watchdog_interval()
        if interval is not None and self._monotonic() >= self._next_ping:
            # From the main loop only: a wedged loop stops the pings and systemd
            # restarts the service; a Flume or broker outage does not (a restart
            # would not help), so the ping goes on through those.
            self._notifier.watchdog()
            self._next_ping = self._monotonic() + interval
        self._update_status()

    def _has_published(self) -> bool:
        if not self.jobs.listed:
            return False
        successes = self.jobs.board.last_success().values()
        return not successes or any(when is not None for when in successes)

    def _update_status(self) -> None:
        sensors = len(self.jobs.board.sensors())
        broker = "broker connected" if self._publisher.connected else "broker away"
        used = self._parts.budget.used()
        text = (
            f"{sensors} sensor{'' if sensors == 1 else 's'}; {broker}; "
            f"{used}/{self._parts.budget.per_hour} Flume requests in the last hour"
        )
        if self._failures:
            text += f"; failing: {self.jobs.last_error}"
        if text != self._status:
            self._status = text
            self._notifier.status(text)


def _bound(job: Callable[[str], None], device_id: str) -> Callable[[], None]:
    def bound() -> None:
        job(device_id)

    return bound


def _label(entry: schedule.Job) -> str:
    args = getattr(entry.job_func, "args", ())
    return str(args[0]) if args else ""


def _seconds(entry: schedule.Job) -> int:
    return int(entry.interval)

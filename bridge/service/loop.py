"""The service loop: one main thread, the timetable, MQTT commands, systemd."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Final

from bridge.errors import BridgeError, FlumeRateLimitError, MqttAuthError, MqttError
from bridge.flume.planner import Plan, duration
from bridge.mqtt import Command, MqttPublisher, SetAway
from bridge.service.jobs import Jobs
from bridge.service.parts import Parts
from bridge.service.systemd import Notifier
from bridge.service.timetable import Job, ScheduleTimetable, Timetable

log = logging.getLogger(__name__)

TICK: Final = 0.5  # the longest wait of the loop: a stop is seen within a second
RETRY_MIN: Final = 30  # seconds before a failed job is tried again, at the least
STARTUP_RETRY: Final = 60  # between device-list attempts until the first succeeds
HOUSEKEEPING: Final = 60  # seconds between availability and diagnostics checks
# A refresh within this long of the last is ignored: a button pressed twice is one
# press. The budget still decides: a refresh never sends past it, but a burst of
# them spends the plan's spare, so the next planned polls may wait for a retry.
REFRESH_GAP: Final = 5.0
BROKER_WAIT: Final = 5.0  # at start: the first states go to a broker that answers
STOP_TIMEOUT: Final = 1.5  # for the broker's ack of `offline` on stop


class Interrupted(BaseException):
    """A stop signal arrived while a job was waiting on Flume: abandon the job.

    Raised from the signal handler into the running job: a blocked socket read (up to
    FLUME_TIMEOUT) is left at once, which no flag or event could do within a second.
    """


class Service:
    """Polls Flume on the budget's plan and publishes, until `stop` is set."""

    def __init__(  # the seams are keywords
        self,
        parts: Parts,
        publisher: MqttPublisher,
        notifier: Notifier,
        stop: threading.Event,
        *,
        timetable: Timetable | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._parts = parts
        self._publisher = publisher
        self._notifier = notifier
        self._stop = stop
        self._timetable = timetable or ScheduleTimetable()
        self._monotonic = monotonic
        self.jobs = Jobs(parts, publisher.publish, started=parts.now())
        self._retrying: set[str] = set()
        self._sensors: list[str] = []  # the sensors the scheduled jobs poll
        self._planned: Plan | None = None
        self._busy = False  # inside a job: a stop signal interrupts it
        self._serving = False  # the first states are on the broker
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
            BridgeError: a permanent one (Flume credentials, configuration): exit 78.
                The broker's refusal is not one: it is retried.
        """
        try:
            self.start()
            while not self._stop.is_set():
                self.step()
        except Interrupted:
            pass
        finally:
            self.close()

    def start(self) -> None:
        """Tell systemd we run, connect to the broker (waiting a little), list devices.

        READY=1 goes at once (`run` has checked the settings and STATE_DIR), before
        any network: a broker or Flume missing at boot is something to wait for (the
        STATUS= line says which), not a failed start for systemd to kill and repeat.
        """
        self._update_status()
        self._notifier.ready()
        self._publisher.start()
        try:
            self._publisher.wait_connected(BROKER_WAIT)
        except MqttAuthError as refusal:
            self._refused(refusal)
        except MqttError as error:
            # INFO: the connection has logged this streak's WARNING already.
            log.info("%s; polling Flume meanwhile", error)
        self._add("devices", STARTUP_RETRY, self._devices, now=True)

    def step(self) -> None:
        """One turn of the loop: due jobs, the broker's events and commands, systemd."""
        self._timetable.run_pending()
        for command in self._pump():
            self._command(command)
        for asked in self._publisher.away_requests():
            self._set_away(asked)
        self._tick()

    def close(self) -> None:
        """Say goodbye: systemd's STOPPING, `offline`, disconnect."""
        self._busy = False
        log.info("stopping")
        self._notifier.stopping()
        self._publisher.stop(STOP_TIMEOUT)

    def _pump(self) -> list[Command]:
        try:
            return self._publisher.pump(self._idle())
        except MqttAuthError as refusal:
            self._refused(refusal)
            return []  # the commands wait in the publisher for the next pump

    def _refused(self, refusal: MqttAuthError) -> None:
        """The broker began to refuse us: one ERROR per streak, and serve on.

        An auth backend may come up after its broker (Home Assistant's Mosquitto
        add-on), a password be half-way through a change: paho asks again.
        """
        log.error(
            "%s; asking again at most a minute apart, polling Flume meanwhile", refusal
        )
        self._update_status()

    def _devices(self) -> None:
        self.jobs.devices()
        self._replan()

    def _replan(self) -> None:
        """Plan the jobs for the sensors now served; run new sensors' polls at once."""
        sensors = [device.id for device in self.jobs.board.sensors()]
        fresh, first = self.jobs.plan, self._planned is None
        if fresh is None or (fresh == self._planned and sensors == self._sensors):
            return
        if not sensors:
            log.warning("no water sensor in the account: only devices and alerts")
        log.info("request plan: %s", fresh.describe())
        known, self._sensors, self._planned = set(self._sensors), sensors, fresh
        self._timetable.clear()
        self._retrying.clear()
        self._add("devices", fresh.device_interval, self._devices)
        self._add("alerts", fresh.alert_interval, self.jobs.alerts, now=first)
        self._add("housekeeping", HOUSEKEEPING, self.jobs.housekeeping)
        for device_id in sensors:
            new = first or device_id not in known
            self._add(f"usage {device_id}", fresh.usage_interval,
                      partial(self.jobs.usage, device_id), now=new)  # fmt: skip
            self._add(f"leaks {device_id}", fresh.leak_interval,
                      partial(self.jobs.leaks, device_id), now=new)  # fmt: skip

    def _add(self, label: str, seconds: int, job: Job, *, now: bool = False) -> None:
        self._timetable.every(seconds, label, lambda: self._run(label, job), now=now)

    def _run(self, label: str, job: Job) -> None:
        """The job boundary: failures are logged and retried; permanent ones end it."""
        self._busy = True
        try:
            job()
        except FlumeRateLimitError as error:
            self._failed(label, error, job, error.retry_after)
        except BridgeError as error:
            if error.permanent:
                raise
            self._failed(label, error, job, None)
        except Exception:  # the job boundary: whatever happens, keep serving
            log.exception("unexpected failure in the %s job", label)
            self.jobs.failures.crashed(label)
        else:
            self.jobs.failures.succeeded()
        finally:
            self._busy = False
        self.jobs.publish_diagnostics()
        # What Flume's last answers said of the account's hour may change the plan.
        self.jobs.replan()
        self._replan()
        self._tick()

    def _failed(
        self, label: str, error: BridgeError, job: Job, retry_after: float | None
    ) -> None:
        """Note the failure, and try the job again sooner than its interval, once."""
        self.jobs.failures.failed(label, error)
        interval = self._timetable.interval(label)
        delay = max(RETRY_MIN, math.ceil(retry_after or 0))
        if interval is None or label in self._retrying or delay >= interval:
            return
        self._retrying.add(label)

        def again() -> None:
            self._retrying.discard(label)
            self._run(label, job)

        self._timetable.once(delay, again)
        log.debug("%s: trying again in %s", label, duration(delay))

    def _set_away(self, asked: SetAway) -> None:
        lid, away = asked.location_id, asked.away
        self._run(f"away mode {lid}", lambda: self.jobs.away.set(lid, away))

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
        wait = budget.available_in(
            room=min(len(sensors), budget.per_hour - budget.reserve)
        )
        if wait > 0:
            log.info("refresh ignored: the budget has room again in %.0f s", wait)
            return
        self._last_refresh = self._monotonic()
        log.info("refreshing %d sensors on request", len(sensors))
        for device in sensors:
            self._run(f"usage {device.id}", partial(self.jobs.usage, device.id))

    def _idle(self) -> float:
        idle = self._timetable.idle_seconds()
        return TICK if idle is None else min(TICK, max(0.0, idle))

    def _tick(self) -> None:
        """The first publish, the watchdog and the status, after each job and turn."""
        if not self._serving and self._publisher.connected and self._has_published():
            self._serving = True
            log.info("first states published")
        interval = self._notifier.watchdog_interval()
        if interval is not None and self._monotonic() >= self._next_ping:
            # From the main loop only: a wedged loop stops the pings and systemd
            # restarts the service; a Flume or broker outage does not (a restart
            # would not help), so the ping goes on through those.
            self._notifier.watchdog()
            self._next_ping = self._monotonic() + interval
        self._update_status()

    def _has_published(self) -> bool:
        if not self.jobs.board.listed:
            return False
        successes = self.jobs.board.last_success().values()
        return not successes or any(when is not None for when in successes)

    def _update_status(self) -> None:
        budget = self._parts.budget
        text = (
            f"{self._flume_status()}; {self._broker_status()}; "
            f"{budget.used()}/{budget.per_hour} Flume requests in the last hour"
        )
        if self.jobs.failures.count:
            text += f"; failing: {self.jobs.failures.last_error}"
        if text != self._status:
            self._status = text
            self._notifier.status(text)

    def _flume_status(self) -> str:
        if not self.jobs.board.listed:
            return "waiting for Flume's device list"
        sensors = len(self.jobs.board.sensors())
        return f"{sensors} sensor{'' if sensors == 1 else 's'}"

    def _broker_status(self) -> str:
        refusal = self._publisher.refusal
        if refusal is not None:
            return f"broker refuses: {refusal}"
        if self._publisher.connected:
            return "broker connected"
        return "waiting for the MQTT broker"

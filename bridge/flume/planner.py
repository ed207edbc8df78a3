"""The request plan: every Flume cadence derived from the hourly budget and the sensors.

Rules, in priority order (tokens > usage query > leaks > device status > alerts):

1. Tokens: `reserve` requests an hour (2 from a budget of 8, 1 from 4, else 0) are kept
   for token grants (a refresh, and the password grant if it is rejected);
   RequestBudget makes sure queries never take them.
2. Spare: about 5 % of the budget ((budget + 10) // 20) stays unplanned, for the retry
   after a 401 and a second page of alerts.
3. Everything else runs on one clock: the usage query of each sensor every `u`
   seconds (never faster than 60 s, the data's resolution), leaks every 5 u (at
   least 5 min), the device list every 15 u (at least 15 min), notifications and usage
   alerts every 20 u (at least 20 min). `u` is the smallest whole number of seconds
   for which the jobs' load fits the budget less reserve and spare, where a job every
   `i` seconds counts ceil(3600 / i) runs an hour when it runs within the hour (its
   worst rolling hour, whatever its phase) and 3600 / i when it runs less often (on
   average; a single run has no cheaper worst case).
4. So when every job runs within the hour, no rolling hour holds more requests than
   the budget (`fits`); with a small budget and many sensors, some jobs run less
   often than hourly and may now and then wait for the limiter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

HOUR = 3600
FASTEST_USAGE = 60  # Flume's finest bucket is a minute


@dataclass(frozen=True, slots=True)
class Job:
    """A periodic Flume call: its cost and how it follows the usage interval."""

    name: str
    requests: int  # requests per run
    per_sensor: bool  # one run per sensor, or one for the account
    multiple: int  # its interval is this many usage intervals ...
    fastest: int  # ... but never under this many seconds


JOBS = (
    Job("usage", 1, per_sensor=True, multiple=1, fastest=FASTEST_USAGE),
    # leaks/active only mirrors Flume's own detection, which takes far longer.
    Job("leaks", 1, per_sensor=True, multiple=5, fastest=300),
    # devices + locations: battery, connectivity, last seen, time zone.
    Job("devices", 2, per_sensor=False, multiple=15, fastest=900),
    # notifications + usage alerts, one page each.
    Job("alerts", 2, per_sensor=False, multiple=20, fastest=1200),
)


@dataclass(frozen=True, slots=True)
class Cadence:
    """One job of a plan: `runs` instances, each every `interval` seconds."""

    name: str
    interval: int
    runs: int  # instances: one per sensor, or one
    requests: int  # requests per run

    @property
    def peak(self) -> int:
        """The most requests these runs can send in any rolling hour."""
        return self.runs * self.requests * math.ceil(HOUR / self.interval)

    @property
    def rate(self) -> float:
        """Requests per hour on average."""
        return self.runs * self.requests * HOUR / self.interval


@dataclass(frozen=True, slots=True)
class Plan:
    """How often each Flume call runs; intervals in seconds."""

    per_hour: int  # the budget
    sensors: int
    token_reserve: int  # requests an hour kept for token grants
    usage_interval: int  # between two usage queries of one sensor
    leak_interval: int  # between two leaks/active calls of one sensor
    device_interval: int  # between two device-list refreshes
    alert_interval: int  # between two notification and usage-alert polls

    def cadences(self) -> tuple[Cadence, ...]:
        """Every job with its interval, instances and requests per run."""
        intervals = (
            self.usage_interval,
            self.leak_interval,
            self.device_interval,
            self.alert_interval,
        )
        return tuple(
            Cadence(job.name, interval, _runs(job, self.sensors), job.requests)
            for job, interval in zip(JOBS, intervals, strict=True)
        )

    @property
    def peak_per_hour(self) -> int:
        """The most requests in any rolling hour, token reserve included."""
        return self.token_reserve + sum(c.peak for c in self.cadences())

    @property
    def requests_per_hour(self) -> int:
        """Requests an hour on average, token reserve included; within the budget."""
        # Rounded first: a rate of exactly the budget must not come out one over.
        mean = round(sum(c.rate for c in self.cadences()), 6)
        return self.token_reserve + math.ceil(mean)

    @property
    def fits(self) -> bool:
        """Whether every planned call goes on time, whatever the phase of the jobs."""
        return self.peak_per_hour <= self.per_hour

    def describe(self) -> str:
        """The plan in one line, for the log and `check`."""
        jobs = ", ".join(
            f"{c.name} every {duration(c.interval)}" for c in self.cadences()
        )
        if self.fits:
            load = f"at most {_count(self.peak_per_hour, 'request')} in any hour"
        else:
            load = (
                f"about {_count(self.requests_per_hour, 'request')} an hour; calls "
                "less often than hourly may wait for the budget"
            )
        budget = f"{_count(self.per_hour, 'request')}/hour"
        reserve = f"{self.token_reserve} kept for tokens"
        return (
            f"{_count(self.sensors, 'sensor')} at {budget}: {jobs}; {reserve}; {load}"
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def plan(per_hour: int, sensors: int) -> Plan:
    """Derive every cadence from the hourly budget and the number of sensors."""
    if per_hour < 1 or sensors < 1:
        raise ValueError(f"need a budget and a sensor, got {per_hour}/h, {sensors}")
    reserve = min(2, per_hour // 4)
    available = per_hour - reserve - (per_hour + 10) // 20
    usage = _usage_interval(available, sensors)
    return Plan(per_hour, sensors, reserve, *(_interval(job, usage) for job in JOBS))


def _interval(job: Job, usage: int) -> int:
    return max(job.fastest, job.multiple * usage)


def _cadences(usage: int, sensors: int) -> list[Cadence]:
    return [
        Cadence(job.name, _interval(job, usage), _runs(job, sensors), job.requests)
        for job in JOBS
    ]


def _runs(job: Job, sensors: int) -> int:
    return sensors if job.per_sensor else 1


def _load(usage: int, sensors: int) -> float:
    """Requests an hour to plan for: the worst hour within the hour, else the mean."""
    return sum(
        c.peak if c.interval <= HOUR else c.rate for c in _cadences(usage, sensors)
    )


def _usage_interval(available: int, sensors: int) -> int:
    """The smallest usage interval whose load fits `available` requests an hour."""
    low = FASTEST_USAGE
    # From an hour on, every job runs less often than hourly and the load is the mean.
    high = max(HOUR, math.ceil(HOUR * _load(HOUR, sensors) / available))
    while low < high:  # the load only falls as the interval grows
        middle = (low + high) // 2
        if _load(middle, sensors) <= available:
            high = middle
        else:
            low = middle + 1
    return low


def duration(seconds: int) -> str:
    """Seconds as a short reading: 60 s, 5 min, 27 min 30 s, 1 h 42 min."""
    if seconds < 120:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 120:
        return f"{minutes} min" + (f" {rest} s" if rest else "")
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" + (f" {minutes} min" if minutes else "")

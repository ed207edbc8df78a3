"""A guided tour of the simulator over HTTP (`make demo` until the bridge exists)."""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
import urllib.request
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bridge.simulator.account import SimConfig
from bridge.simulator.clock import SimClock
from bridge.simulator.server import Simulator

# One real second is one simulated minute, so the household visibly uses water.
SPEED = 60.0
TICK_SECONDS = 2.0


class Tour:
    """Talk to a running simulator as a Flume client does, printing what happens."""

    def __init__(self, url: str, config: SimConfig, out: TextIO | None = None) -> None:
        self.url = url
        self.config = config
        self.out = out or sys.stdout
        self.token = ""
        self.user_id = 0

    def say(self, text: str) -> None:
        """Print one line at once (the demo is watched live)."""
        print(text, file=self.out, flush=True)

    def call(self, method: str, path: str, body: object = None) -> Any:
        """Send one request and return the decoded JSON envelope."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310 - the URL is our own loopback simulator
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - same
            return json.load(response)

    def login(self) -> None:
        """Password grant, then read user_id from the JWT payload as clients do."""
        envelope = self.call("POST", "/oauth/token", {
            "grant_type": "password",
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
            "username": self.config.username,
            "password": self.config.password,
        })  # fmt: skip
        grant = envelope["data"][0]
        self.token = grant["access_token"]
        payload = self.token.split(".")[1]
        claims = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )
        self.user_id = claims["user_id"]
        self.say(f"POST /oauth/token -> access token for user {self.user_id}, "
                 f"expires in {grant['expires_in']} s")  # fmt: skip

    def devices(self) -> list[dict[str, Any]]:
        """List the account's devices with their embedded locations."""
        path = f"/users/{self.user_id}/devices?location=true"
        devices: list[dict[str, Any]] = self.call("GET", path)["data"]
        self.say(f"GET {path} -> {len(devices)} devices")
        for device in devices:
            kind = "sensor" if device["type"] == 2 else "bridge"
            battery = device.get("battery_level", "-")
            location = device.get("location") or {}
            self.say(f"    {device['id']}  {kind:6}  {location.get('name')} "
                     f"({location.get('tz')})  battery {battery}")  # fmt: skip
        return devices

    def usage(self, device: dict[str, Any], tz: str) -> dict[str, float]:
        """One batched query: last 60 minutes and today, in gallons."""
        now = self.sim_now().astimezone(ZoneInfo(tz)).replace(tzinfo=None)
        fmt = "%Y-%m-%d %H:%M:00"
        queries = [
            {"request_id": "last_60_min", "bucket": "MIN", "operation": "SUM",
             "since_datetime": (now - timedelta(minutes=60)).strftime(fmt),
             "until_datetime": (now - timedelta(minutes=1)).strftime(fmt)},
            {"request_id": "today", "bucket": "DAY", "operation": "SUM",
             "since_datetime": now.strftime("%Y-%m-%d 00:00:00"),
             "until_datetime": now.strftime(fmt)},
        ]  # fmt: skip
        path = f"/users/{self.user_id}/devices/{device['id']}/query"
        data = self.call("POST", path, {"queries": queries})["data"][0]
        return {
            key: float(series[0]["value"]) for key, series in data.items() if series
        }

    def sim_now(self) -> datetime:
        """The simulator's clock, from its control route."""
        now = self.call("GET", "/_sim/clock")["now"]
        return datetime.fromisoformat(str(now).replace("Z", "+00:00"))

    def live(self, device: dict[str, Any], tz: str, seconds: float) -> None:
        """Print flow and usage every tick, as a dashboard would."""
        path = f"/users/{self.user_id}/devices/{device['id']}/query/active"
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            flow = self.call("GET", path)["data"][0]
            usage = self.usage(device, tz)
            self.say(f"  {flow['datetime']}  flow {flow['gpm']:6.2f} gal/min  "
                     f"last 60 min {usage.get('last_60_min', 0):7.2f} gal  "
                     f"today {usage.get('today', 0):8.2f} gal")  # fmt: skip
            time.sleep(TICK_SECONDS)

    def run(self, seconds: float) -> None:
        """The whole tour: login, devices, alerts, then live readings."""
        self.login()
        devices = self.devices()
        sensor = next(d for d in devices if d["type"] == 2)
        tz = str((sensor.get("location") or {}).get("tz", self.config.timezones[0]))
        leak = self.call(
            "GET", f"/users/{self.user_id}/devices/{sensor['id']}/leaks/active"
        )
        self.say(f"GET .../leaks/active -> leak {leak['data'][0]['active']}")
        alerts = self.call(
            "GET", f"/users/{self.user_id}/usage-alerts?sort_direction=DESC&limit=3"
        )
        self.say(f"GET .../usage-alerts -> {alerts['count']} alerts; newest:")
        for alert in alerts["data"]:
            self.say(f"    {alert['triggered_datetime']}  {alert['event_rule_name']}")
        self.say(f"live readings of sensor {sensor['id']} (1 s = 1 simulated minute; "
                 "Ctrl-C stops):")  # fmt: skip
        self.live(sensor, tz, seconds)


def morning(tz: str) -> datetime:
    """Seven this morning at the first location: the household is getting up."""
    zone = ZoneInfo(tz)
    return datetime.now(zone).replace(hour=7, minute=0, second=0, microsecond=0)


def main(argv: Sequence[str] | None = None) -> int:
    """Start a simulator in-process and tour it; Ctrl-C ends it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--seconds",
        type=float,
        default=float("inf"),
        help="stop the live readings after this many seconds",
    )
    args = parser.parse_args(argv)
    config = SimConfig(leak=True)
    simulator = Simulator(config, SimClock(morning(config.timezones[0]), speed=SPEED))
    url = simulator.start("127.0.0.1", 0)
    tour = Tour(url, config)
    tour.say(f"simulator listening on {url}")
    tour.say(
        "The bridge itself is not built yet: this tour shows the Flume API simulator "
        "answering real requests."
    )
    try:
        tour.run(args.seconds)
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

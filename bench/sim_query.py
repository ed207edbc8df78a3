"""Time the simulator's query engine: cold and warm, for the longest common windows."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bridge.simulator.account import SimConfig
from bridge.simulator.household import generate_day
from bridge.simulator.model import Model

NOW = datetime(2025, 7, 15, 19, tzinfo=UTC)
WINDOWS = {
    "a year of DAY buckets": ("DAY", "2024-07-15 12:00:00"),
    "a day of MIN buckets": ("MIN", "2025-07-14 12:00:00"),
    "a year of HR buckets": ("HR", "2024-07-15 12:00:00"),
}


def main() -> None:
    """Print the time each window takes with an empty and a warm day cache."""
    model = Model(SimConfig(leak=True), lambda: NOW)
    sensor = model.account.sensors[0]
    for name, (bucket, since) in WINDOWS.items():
        body = {
            "queries": [{"request_id": "q", "bucket": bucket, "since_datetime": since}]
        }
        generate_day.cache_clear()
        for state in ("cold", "warm"):
            started = time.perf_counter()
            points = len(model.query(sensor, body)["q"])
            elapsed = time.perf_counter() - started
            print(f"{name:24} {state}: {elapsed * 1000:7.1f} ms ({points} buckets)")


if __name__ == "__main__":
    main()

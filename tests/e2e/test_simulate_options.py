"""`flume-mqtt simulate` with the options of issue 13: outages, headers, readings."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import requests

COMMAND = [sys.executable, "-m", "bridge", "simulate", "--host", "127.0.0.1"]
OUTAGE = "2026-12-01T18:00Z/2026-12-01T20:00Z"


def test_the_options_reach_the_running_simulator() -> None:
    """Each option shows in /_sim/behaviour or /_sim/outages; headers stay off."""
    options = [
        *("--port", "0", "--sensors", "2", "--start", "2026-12-01T21:00Z"),
        *("--speed", "0", "--outage", f"2@{OUTAGE}", "--outage", OUTAGE),
        *("--other-client", "60", "--no-rate-headers", "--reading", "ungrouped"),
        *("--sort", "desc", "--max-queries", "10", "--max-min-hours", "24"),
    ]
    process = subprocess.Popen(
        [*COMMAND, *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(
            r"simulator listening on (http://127\.0\.0\.1:\d+)\n", line
        )
        assert match, f"unexpected first line {line!r}"
        url = match.group(1)
        assert requests.get(url + "/_sim/behaviour", timeout=10).json() == {
            "rate_headers": False,
            "other_client_per_hour": 60,
            "reading": "ungrouped",
            "sort": "desc",
            "max_queries": 10,
            "max_min_hours": 24,
        }
        account = requests.get(url + "/_sim/account", timeout=10).json()
        sensors = [d["id"] for d in account["devices"] if d["type"] == 2]
        outages = requests.get(url + "/_sim/outages", timeout=10).json()["outages"]
        assert [(o["device_id"], o["since"], o["held"]) for o in outages] == [
            (sensors[1], "2026-12-01T18:00:00Z", False),
            (sensors[0], "2026-12-01T18:00:00Z", False),
        ]
        grant = requests.post(url + "/oauth/token", json={}, timeout=10)
        assert "X-RateLimit-Remaining" not in grant.headers
    finally:
        process.kill()
        process.communicate(timeout=10)


@pytest.mark.parametrize(
    "option",
    [
        ["--outage", "2026-12-01T18:00Z"],
        ["--outage", f"3@{OUTAGE}"],
        ["--outage", "2026-12-01T20:00Z/2026-12-01T18:00Z"],
        ["--outage", "x@2026-12-01T18:00Z/2026-12-01T20:00Z"],
        ["--reading", "grouped"],
        ["--sort", "DESC"],
        ["--max-queries", "0"],
    ],
)
def test_bad_issue_13_options_are_usage_errors(option: list[str]) -> None:
    """A bad outage, reading, order or limit exits 2 with a message, no traceback."""
    result = subprocess.run(
        [*COMMAND, "--port", "0", *option],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error" in result.stderr

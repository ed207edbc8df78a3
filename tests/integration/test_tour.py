"""The guided tour behind `make demo` talks to a real simulator and shows readings."""

from __future__ import annotations

import re

import pytest

from bridge.simulator.tour import main


def test_tour_shows_login_devices_alerts_and_live_readings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Within seconds the tour prints the grant, the devices, the leak and readings."""
    assert main(["--seconds", "2.5"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^simulator listening on http://127\.0\.0\.1:\d+$", out, re.M)
    assert "POST /oauth/token -> access token for user" in out
    assert re.search(r"^ {4}\d{19}  sensor  Home \(America/Los_Angeles\)", out, re.M)
    assert "leak True" in out
    assert "Flume Smart Leak Alert" in out
    readings = re.findall(r"flow +(\d+\.\d\d) gal/min .* today +(\d+\.\d\d) gal", out)
    assert len(readings) >= 2
    assert float(readings[-1][1]) > 0

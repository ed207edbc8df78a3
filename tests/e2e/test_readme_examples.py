"""The README's curl examples work as written against `flume-mqtt simulate`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def curl_block() -> str:
    section = README.split("### Try it with curl", 1)[1]
    match = re.search(r"^```sh\n(.*?)^```", section, re.M | re.S)
    assert match, "no sh block under 'Try it with curl'"
    return match.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_examples_run_against_the_simulator() -> None:
    """Every command of the curl block succeeds and prints what the README promises."""
    with subprocess.Popen(
        [sys.executable, "-m", "bridge", "simulate", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            assert server.stdout is not None
            port = server.stdout.readline().rsplit(":", 1)[1].strip()
            script = curl_block().replace("127.0.0.1:8089", f"127.0.0.1:{port}")
            result = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                check=False,
                capture_output=True,
                text=True,
                timeout=30,
            )
        finally:
            server.terminate()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    assert '"tz":"America/Los_Angeles"' in lines[0]
    assert re.search(r'"today":\[\{"value":[0-9.]+\}\]', lines[1])
    assert '"gallons":' in lines[2]
    assert '"status":503' in lines[3]
    assert '"POST /users/{uid}/devices/{did}/query"' in lines[4]

"""`run` lives for months and keeps all it imports: only what it uses is loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# `flume-mqtt run` up to its first failure (STATE_DIR under a file, checked before any
# connection): past the command line, the settings and the command's import; then the
# modules it holds.
RUN_THEN_LIST = """
import json, sys
from bridge.cli import main
code = main(["run"])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""
# What other commands, or an error path, need; never `run` (bench/rss_versus.py).
NOT_FOR_RUN = (
    "bridge.commands.check",
    "bridge.commands.discovery",
    "bridge.commands.demo",
    "bridge.commands.simulate",
    "bridge.simulator",
    "difflib",
)
NEEDED = ("CLIENT_ID", "CLIENT_SECRET", "USERNAME", "PASSWORD")
APPARENT_ENCODING = """
import sys
import bridge.flume.http
import requests
response = requests.models.Response()
response._content = "Grüße aus Köln, à bientôt".encode("latin-1")
print(response.apparent_encoding, type(sys.modules["charset_normalizer"]).__name__)
"""


def python(source: str, cwd: Path, **settings: str) -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), **settings}
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", source],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout


def test_run_imports_no_other_command_nor_the_simulator(tmp_path: Path) -> None:
    """`run` loads neither the other commands, the simulator, nor charset_normalizer."""
    (tmp_path / "file").write_text("")
    login = {f"FLUME_{name}": "x" for name in NEEDED}
    state = str(tmp_path / "file" / "state")
    output = python(RUN_THEN_LIST, tmp_path, STATE_DIR=state, MQTT_PORT="1", **login)
    done = json.loads(output.splitlines()[-1])
    assert done["code"] == 78  # the unwritable STATE_DIR: the command was reached
    modules = set(done["modules"])
    assert "bridge.commands.run" in modules
    for name in NOT_FOR_RUN:
        assert not {m for m in modules if m == name or m.startswith(name + ".")}, name
    assert not {m for m in modules if m.startswith("charset_normalizer.")}


def test_requests_still_guesses_an_encoding_on_first_use(tmp_path: Path) -> None:
    """A body without a charset is still guessed, importing charset_normalizer then."""
    without = python(
        APPARENT_ENCODING.replace("import bridge.flume.http\n", ""), tmp_path
    )
    assert python(APPARENT_ENCODING, tmp_path).split()[0] == without.split()[0]
    assert python(APPARENT_ENCODING, tmp_path).split()[1] == "module"

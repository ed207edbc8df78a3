"""STATE_DIR is probed with a real write before the service says it is ready."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.cli import main
from bridge.errors import ConfigError
from bridge.statefile import probe

DEMO_LOGIN = {
    "FLUME_CLIENT_ID": "demo-client",
    "FLUME_CLIENT_SECRET": "demo-secret",
    "FLUME_USERNAME": "demo@example.com",
    "FLUME_PASSWORD": "demo-password",
}


def test_the_probe_creates_the_directory_and_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    """A missing STATE_DIR is made (0700) and stays empty after the probe."""
    state = tmp_path / "a" / "state"
    probe(state)
    assert state.is_dir()
    assert state.stat().st_mode & 0o777 == 0o700
    assert list(state.iterdir()) == []


def test_a_directory_that_cannot_be_made_is_a_config_error(tmp_path: Path) -> None:
    """A file where STATE_DIR should be: ConfigError naming STATE_DIR and the path."""
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError) as caught:
        probe(tmp_path / "file" / "state")
    assert str(caught.value) == (
        f"STATE_DIR: cannot write {tmp_path / 'file' / 'state'}: Not a directory"
    )


def test_run_with_an_unwritable_state_dir_is_one_line_and_exit_78(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`run` checks STATE_DIR before anything else: exit 78, one line on stderr."""
    (tmp_path / "file").write_text("")
    for name, value in DEMO_LOGIN.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("STATE_DIR", str(tmp_path / "file" / "state"))
    monkeypatch.setenv("MQTT_PORT", "1")  # never reached
    assert main(["run"]) == 78
    err = capsys.readouterr().err
    state = tmp_path / "file" / "state"
    assert err == f"config error: STATE_DIR: cannot write {state}: Not a directory\n"

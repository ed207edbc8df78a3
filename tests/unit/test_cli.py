"""The `flume-mqtt` command line: version, help, and exit codes."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import bridge
from bridge.cli import main


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`--version` prints the distribution's version and exits 0."""
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.strip() == f"flume-mqtt {bridge.__version__}"


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` names the four commands of the design."""
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "check", "simulate", "discovery"):
        assert command in out


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a command the usage error exits 2."""
    with pytest.raises(SystemExit) as stopped:
        main([])
    assert stopped.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_run_without_credentials_is_a_configuration_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`run` with no Flume credentials names them in one line and exits 78."""
    assert main(["run"]) == 78
    assert capsys.readouterr().err == (
        "config error: FLUME_CLIENT_ID, FLUME_CLIENT_SECRET, FLUME_USERNAME, "
        "FLUME_PASSWORD: required (or run with --demo)\n"
    )


def test_a_bad_log_level_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown LOG_LEVEL is one line naming the variable, exit 78."""
    monkeypatch.setenv("LOG_LEVEL", "chatty")
    assert main(["check"]) == 78
    assert capsys.readouterr().err == (
        "config error: LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR\n"
    )


def test_check_without_credentials_is_a_configuration_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`check` with no Flume credentials names them in one line and exits 78."""
    assert main(["check"]) == 78
    assert capsys.readouterr().err == (
        "config error: FLUME_CLIENT_ID, FLUME_CLIENT_SECRET, FLUME_USERNAME, "
        "FLUME_PASSWORD: required (or run with --demo)\n"
    )


def test_a_missing_env_file_option_is_a_configuration_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--env-file` naming no file is one line and exit 78, before any request."""
    assert main(["--env-file", "missing.env", "check"]) == 78
    assert capsys.readouterr().err == (
        "config error: --env-file: no such file: missing.env\n"
    )


def test_log_level_option_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--log-level` beats LOG_LEVEL and is case-insensitive."""
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    main(["--log-level", "debug", "check"])
    assert logging.getLogger().level == logging.DEBUG


def test_journald_gets_no_timestamps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under systemd the log format leaves the timestamp to journald."""
    monkeypatch.setenv("JOURNAL_STREAM", "8:1234")
    main(["check"])
    formatter = logging.getLogger().handlers[0].formatter
    assert formatter is not None
    assert "asctime" not in (formatter._fmt or "")


def test_python_dash_m_bridge_runs_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m bridge` is the same command as `flume-mqtt`."""
    import runpy

    monkeypatch.setattr("sys.argv", ["flume-mqtt", "--version"])
    with pytest.raises(SystemExit) as stopped:
        runpy.run_module("bridge", run_name="__main__")
    assert stopped.value.code == 0
    assert bridge.__version__ in capsys.readouterr().out


def test_credentials_refuse_settings_without_a_login() -> None:
    """Settings built without the Flume login cannot reach the token manager."""
    from bridge.app import credentials
    from bridge.config import Settings
    from bridge.errors import ConfigError

    with pytest.raises(ConfigError, match=r"FLUME_PASSWORD: required"):
        credentials(Settings(flume_client_id="id", flume_username="me"))


def test_a_state_dir_is_writable_if_it_or_its_nearest_parent_is(
    tmp_path: Path,
) -> None:
    """STATE_DIR may not exist yet, but must be creatable; not under a plain file."""
    from bridge.commands.check import writable

    assert writable(tmp_path)
    assert writable(tmp_path / "not" / "yet")
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert not writable(blocker)
    assert not writable(blocker / "state")

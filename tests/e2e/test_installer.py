"""systemd/install.sh in a scratch root: files, modes, idempotence, uninstall, purge.

Every run uses `--offline`: the venv is built from this checkout and borrows the test
environment's packages, so nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.simulator.server import Simulator
from tests.support.broker import Broker
from tests.support.programs import require_program

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "systemd" / "install.sh"
SECRETS = {
    "flume_client_secret": "demo-secret",
    "flume_password": "demo-password",
    "mqtt_password": "broker-secret",
}


# Any download the installer tried would go to this dead loopback proxy and fail.
NO_NETWORK = dict.fromkeys(
    ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"), "http://127.0.0.1:9"
)


def install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installer into `root` with `args`, offline."""
    return subprocess.run(
        ["sh", str(SCRIPT), "--root", str(root), "--python", sys.executable,
         "--offline", *args],
        env={**os.environ, **NO_NETWORK},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def files_under(root: Path) -> list[str]:
    """Every file (not directory) below `root`, relative."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


class Layout:
    """The installed paths under a scratch root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.etc = root / "etc/flume-mqtt"
        self.env_file = self.etc / "flume-mqtt.env"
        self.credentials = self.etc / "credentials"
        self.unit = root / "etc/systemd/system/flume-mqtt.service"
        self.opt = root / "opt/flume-mqtt"
        self.command = self.opt / "venv/bin/flume-mqtt"
        self.state = root / "var/lib/flume-mqtt"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    """One fresh install, shared by the tests that only look at it."""
    root = tmp_path_factory.mktemp("root")
    done = install(root)
    assert done.returncode == 0, done.stderr
    return Layout(root)


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    """A fresh install of this test's own, to change and re-run."""
    root = tmp_path / "root"
    done = install(root)
    assert done.returncode == 0, done.stderr
    return Layout(root)


def test_install_creates_the_unit_venv_and_private_config(installed: Layout) -> None:
    """The unit as shipped, settings from .env.example, /etc for its owner alone."""
    assert (
        installed.unit.read_bytes()
        == (ROOT / "systemd/flume-mqtt.service").read_bytes()
    )
    assert installed.env_file.read_bytes() == (ROOT / ".env.example").read_bytes()
    modes = {
        installed.unit: 0o644,
        installed.etc: 0o700,
        installed.credentials: 0o700,
        installed.env_file: 0o600,
        installed.opt: 0o755,
    }
    assert {path: mode(path) for path in modes} == modes
    assert {path.stat().st_uid for path in modes} == {os.getuid()}
    assert list(installed.credentials.iterdir()) == []


def test_the_installed_command_runs_from_its_own_venv(installed: Layout) -> None:
    """The venv's flume-mqtt is this checkout's version, importable away from it."""
    done = subprocess.run(
        [str(installed.command), "--version"],
        cwd=installed.root,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stdout.strip().startswith("flume-mqtt 0.1.0")
    where = subprocess.run(
        [str(installed.opt / "venv/bin/python"), "-c",
         "import bridge; print(bridge.__file__)"],
        cwd=installed.root, capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert where.stdout.startswith(str(installed.opt / "venv/lib/"))


def test_a_second_run_keeps_the_settings_and_tightens_the_modes(layout: Layout) -> None:
    """Edited settings and credentials survive; loose modes go back to 0600."""
    layout.env_file.write_text("MQTT_HOST=broker.lan\n")
    layout.env_file.chmod(0o644)
    secret = layout.credentials / "flume_password"
    secret.write_text("pa55word\n")
    secret.chmod(0o644)
    layout.unit.write_text("[Unit]\n")
    done = install(layout.root)
    assert done.returncode == 0, done.stderr
    assert layout.env_file.read_text() == "MQTT_HOST=broker.lan\n"
    assert secret.read_text() == "pa55word\n"
    assert (mode(layout.env_file), mode(secret)) == (0o600, 0o600)
    assert (
        layout.unit.read_bytes() == (ROOT / "systemd/flume-mqtt.service").read_bytes()
    )
    assert "created" not in done.stderr


def test_uninstall_keeps_the_settings_and_state_and_purge_removes_them(
    layout: Layout,
) -> None:
    """--uninstall leaves only /etc/flume-mqtt and the state; --purge leaves nothing."""
    (layout.credentials / "mqtt_password").write_text("x\n")
    layout.state.mkdir(parents=True)
    (layout.state / "tokens.json").write_text("{}")
    done = install(layout.root, "--uninstall")
    assert done.returncode == 0, done.stderr
    assert files_under(layout.root) == [
        "etc/flume-mqtt/credentials/mqtt_password",
        "etc/flume-mqtt/flume-mqtt.env",
        "var/lib/flume-mqtt/tokens.json",
    ]
    assert not layout.opt.exists()
    again = install(layout.root, "--uninstall")
    assert again.returncode == 0, again.stderr
    purged = install(layout.root, "--uninstall", "--purge")
    assert purged.returncode == 0, purged.stderr
    assert files_under(layout.root) == []
    assert not layout.etc.exists()
    assert not layout.state.exists()


def test_purge_alone_is_refused(tmp_path: Path) -> None:
    """--purge without --uninstall is a usage error and touches nothing."""
    done = install(tmp_path / "root", "--purge")
    assert done.returncode == 1
    assert done.stderr == "flume-mqtt: --purge goes with --uninstall\n"
    assert files_under(tmp_path / "root") == []


def test_the_script_is_shellcheck_clean() -> None:
    """The install script is shellcheck-clean (skipped without it, except under CI)."""
    found = require_program("shellcheck")
    done = subprocess.run(
        [found, str(SCRIPT)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stdout


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    """One install for the tests that only configure it and run its check."""
    root = tmp_path_factory.mktemp("root")
    done = install(root)
    assert done.returncode == 0, done.stderr
    return Layout(root)


@pytest.fixture
def configurable(shared: Layout) -> Layout:
    """The shared install with its settings as installed and no credentials."""
    shutil.copyfile(ROOT / ".env.example", shared.env_file)
    for path in shared.credentials.iterdir():
        path.unlink()
    return shared


def write_settings(
    layout: Layout, sim: Simulator, broker: Broker, **extra: str
) -> None:
    """Fill the installed env file as an operator would: no secrets in it."""
    settings = {
        "FLUME_CLIENT_ID": "demo-client",
        "FLUME_USERNAME": "demo@example.com",
        "FLUME_API_URL": sim.url,
        "MQTT_HOST": broker.host,
        "MQTT_PORT": str(broker.port),
        **extra,
    }
    with layout.env_file.open("a") as env:
        env.writelines(f"{name}={value}\n" for name, value in settings.items())


def write_credentials(layout: Layout, **secrets: str) -> None:
    for name, value in secrets.items():
        path = layout.credentials / name
        path.write_text(value)
        path.chmod(0o600)


def check(layout: Layout, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed `check` as the unit would: env file, credentials, bare env."""
    environ = {
        "PATH": os.environ["PATH"],
        "CREDENTIALS_DIRECTORY": str(layout.credentials),
        "STATE_DIR": str(tmp_path / "state"),
    }
    return subprocess.run(
        [str(layout.command), "--env-file", str(layout.env_file), "check"],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_secrets_from_credential_files_alone_pass_the_check(
    configurable: Layout, tmp_path: Path, sim: Simulator, mosquitto_auth: Broker
) -> None:
    """The installed command logs in to Flume and the broker with file secrets only."""
    write_settings(configurable, sim, mosquitto_auth, MQTT_USERNAME="bridge")
    write_credentials(configurable, **SECRETS)
    settings = configurable.env_file.read_text()
    assert not [secret for secret in SECRETS.values() if secret in settings]
    done = check(configurable, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "flume    ok: logged in to" in done.stdout
    assert "(no TLS, user bridge, MQTT 3.1.1)" in done.stdout
    assert done.stdout.splitlines()[-1] == "result   ok"
    for secret in SECRETS.values():
        assert secret not in done.stdout + done.stderr


def test_a_wrong_credential_file_is_exit_78(
    configurable: Layout, tmp_path: Path, sim: Simulator, mosquitto_auth: Broker
) -> None:
    """The credential file is what is used: a wrong broker password there is refused."""
    write_settings(configurable, sim, mosquitto_auth, MQTT_USERNAME="bridge")
    write_credentials(configurable, **{**SECRETS, "mqtt_password": "wrong-broker-pw\n"})
    done = check(configurable, tmp_path)
    assert done.returncode == 78
    assert "login refused" in done.stderr
    assert "wrong-broker-pw" not in done.stderr


def test_the_units_default_for_a_missing_broker_password_means_none(
    configurable: Layout, tmp_path: Path, sim: Simulator, mosquitto: Broker
) -> None:
    """The unit's SetCredential= default (a newline) reads as no MQTT_PASSWORD."""
    write_settings(configurable, sim, mosquitto)
    write_credentials(configurable, **{**SECRETS, "mqtt_password": "\n"})
    done = check(configurable, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "(no TLS, anonymous, MQTT 3.1.1)" in done.stdout


def test_the_units_default_for_a_missing_flume_secret_is_one_line_and_78(
    configurable: Layout, tmp_path: Path, sim: Simulator, mosquitto: Broker
) -> None:
    """No FLUME_PASSWORD file nor variable: the unit's default is named; exit 78."""
    write_settings(configurable, sim, mosquitto)
    write_credentials(configurable, **{**SECRETS, "flume_password": "\n"})
    done = check(configurable, tmp_path)
    assert done.returncode == 78
    assert done.stderr == "config error: FLUME_PASSWORD: must not be empty\n"


def test_a_variable_in_the_env_file_beats_the_units_default(
    configurable: Layout, tmp_path: Path, sim: Simulator, mosquitto: Broker
) -> None:
    """A secret kept in the env file is used though the unit supplies an empty file."""
    write_settings(configurable, sim, mosquitto, FLUME_PASSWORD="demo-password")
    write_credentials(
        configurable, **{**SECRETS, "flume_password": "\n", "mqtt_password": "\n"}
    )
    done = check(configurable, tmp_path)
    assert done.returncode == 0, done.stderr

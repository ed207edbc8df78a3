"""The demo's broker: the configured one when it answers, else a private mosquitto."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bridge.config import Settings
from bridge.errors import MqttError
from bridge.mqtt import probe

LOOPBACK: Final = "127.0.0.1"
PROBE_TIMEOUT: Final = 3.0  # a newcomer's broker answers at once, or not at all
START_TIMEOUT: Final = 10.0
STOP_TIMEOUT: Final = 10.0
# The demo's own broker: loopback only, anyone may connect, nothing kept on disk.
MOSQUITTO_CONF: Final = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
log_type error
log_type warning
"""
NO_BROKER: Final = (
    "no MQTT broker answers on {address} and mosquitto is not installed: install it "
    "with `sudo apt install mosquitto` (or set MQTT_HOST and MQTT_PORT to a broker)"
)


class DemoError(Exception):
    """The demo cannot go on; the message is the one line to print."""


@dataclass(frozen=True, slots=True)
class Target:
    """The broker the bridge publishes to, and how to start the bridge for it."""

    settings: Settings  # the watcher's connection
    env: Mapping[str, str]  # the bridge's environment
    cwd: Path  # the bridge's working directory, where it looks for `.env`
    private: bool  # a mosquitto of our own


def find_mosquitto() -> str | None:
    """The broker binary: Debian installs it in /usr/sbin, often not on PATH."""
    found = shutil.which("mosquitto")
    fallback = Path("/usr/sbin/mosquitto")
    return found or (str(fallback) if fallback.exists() else None)


def free_port() -> int:
    """A loopback port nobody listens on (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def answers(settings: Settings) -> bool:
    """Whether a broker on MQTT_HOST:MQTT_PORT accepts our connection."""
    try:
        probe(settings, timeout=PROBE_TIMEOUT)
    except MqttError:  # unreachable, or it refused the login: not one we can use
        return False
    return True


def end(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> int:
    """Stop a child (SIGTERM, then SIGKILL) and reap it; return its exit status."""
    if process.poll() is None:
        process.terminate()
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@contextmanager
def private_broker(binary: str, directory: Path) -> Iterator[int]:
    """Run mosquitto on a free loopback port until the block ends; yield the port."""
    port = free_port()
    config, log = directory / "mosquitto.conf", directory / "mosquitto.log"
    config.write_text(MOSQUITTO_CONF.format(port=port))
    with log.open("wb") as sink:
        # A session of its own: the terminal's Ctrl-C is ours to pass on, in order.
        process = subprocess.Popen(  # noqa: S603  # mosquitto, with our own config
            [binary, "-c", str(config)],
            stdin=subprocess.DEVNULL, stdout=sink, stderr=sink, start_new_session=True,
        )  # fmt: skip
    try:
        wait_listening(process, port, log)
        yield port
    finally:
        end(process)


def wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Block until the broker accepts TCP connections on `port`.

    Raises:
        DemoError: it exited first, or was not ready within START_TIMEOUT.
    """
    deadline = time.monotonic() + START_TIMEOUT
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    said = log.read_text(errors="replace").strip().splitlines()
    raise DemoError(f"mosquitto did not start: {said[-1] if said else 'no answer'}")


def shared_target(settings: Settings, scratch: Path) -> Target:
    """The configured broker, with the user's settings (login, TLS, base topic)."""
    kept = {
        name: value for name, value in os.environ.items() if name != "NOTIFY_SOCKET"
    }
    env = bridge_env(kept, settings.mqtt_host, settings.mqtt_port, scratch)
    watcher = settings.model_copy(update={"mqtt_client_id": env["MQTT_CLIENT_ID"]})
    return Target(watcher, env, Path.cwd(), private=False)


def private_target(port: int, scratch: Path) -> Target:
    """Our own broker: anonymous and plain, so no MQTT or HA setting of the user's.

    The bridge runs in `scratch`, away from a `.env` that would point it elsewhere.
    """
    dropped = ("MQTT_", "HA_", "CREDENTIALS_DIRECTORY", "NOTIFY_SOCKET")
    kept = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env = bridge_env(kept, LOOPBACK, port, scratch)
    client_id = env["MQTT_CLIENT_ID"]
    watcher = Settings(mqtt_host=LOOPBACK, mqtt_port=port, mqtt_client_id=client_id)
    return Target(watcher, env, scratch, private=True)


def bridge_env(
    kept: Mapping[str, str], host: str, port: int, scratch: Path
) -> dict[str, str]:
    """The bridge's environment: `kept`, pointed at the broker and at `scratch`.

    The client id is the demo's own, so that a real bridge stays connected.
    """
    return {
        **kept,
        "MQTT_HOST": host,
        "MQTT_PORT": str(port),
        "MQTT_CLIENT_ID": f"flume-mqtt-demo-{os.getpid()}",
        "STATE_DIR": str(scratch / "state"),
    }


def choose_target(
    settings: Settings, stack: ExitStack, scratch: Path, mosquitto: str | None
) -> Target:
    """The configured broker when it answers, else a private mosquitto.

    Raises:
        DemoError: neither is there.
    """
    if answers(settings):
        return shared_target(settings, scratch)
    if mosquitto is None:
        address = f"{settings.mqtt_host}:{settings.mqtt_port}"
        raise DemoError(NO_BROKER.format(address=address))
    port = stack.enter_context(private_broker(mosquitto, scratch))
    return private_target(port, scratch)

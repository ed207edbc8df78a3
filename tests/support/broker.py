"""Real mosquitto brokers on free loopback ports: anonymous, password and TLS."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
START_TIMEOUT = 10.0


def find_mosquitto() -> str | None:
    """Return the broker binary: Debian installs it in /usr/sbin, often not on PATH."""
    found = shutil.which("mosquitto")
    if found:
        return found
    fallback = Path("/usr/sbin/mosquitto")
    return str(fallback) if fallback.exists() else None


def free_port() -> int:
    """Ask the kernel for a free loopback port."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = START_TIMEOUT) -> None:
    """Block until something accepts TCP connections on the loopback port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@dataclass(frozen=True)
class TlsFiles:
    """A CA, a server certificate for 127.0.0.1 and a client certificate it signed."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def signed_cert(directory: Path, name: str, subject: str, ext: str) -> None:
    """Make `name.crt` and `name.key`, signed by the CA in `directory`."""
    (directory / f"{name}.ext").write_text(ext)
    _openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject,
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", f"{name}.crt", "-days", "2",
        "-extfile", f"{name}.ext",
        cwd=directory,
    )  # fmt: skip


def make_tls_files(directory: Path) -> TlsFiles:
    """Generate a throw-away CA with server and client certificates (openssl CLI)."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=flume-mqtt test CA",
        cwd=directory,
    )  # fmt: skip
    signed_cert(
        directory, "server", f"/CN={HOST}",
        f"subjectAltName=IP:{HOST},DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )  # fmt: skip
    signed_cert(
        directory, "client", "/CN=flume-mqtt-test-client",
        "extendedKeyUsage=clientAuth\n",
    )  # fmt: skip
    return TlsFiles(
        ca_cert=directory / "ca.crt",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
        client_cert=directory / "client.crt",
        client_key=directory / "client.key",
    )


@dataclass
class Broker:
    """One mosquitto process; `restart()` brings it back on the same port."""

    directory: Path
    port: int
    username: str | None = None
    password: str | None = None
    tls: TlsFiles | None = None
    host: str = HOST
    _process: subprocess.Popen[bytes] | None = None

    def config_text(self) -> str:
        """Return the mosquitto.conf for this variant."""
        lines = [
            f"listener {self.port} {self.host}",
            "persistence false",
            f"log_dest file {self.directory / 'mosquitto.log'}",
            "log_type all",
            # As root mosquitto would switch to its own user, who cannot read tmp_path.
            "user root",
        ]
        if self.username is not None and self.password is not None:
            lines += ["allow_anonymous false", f"password_file {self._password_file()}"]
        else:
            lines.append("allow_anonymous true")
        if self.tls is not None:
            lines += [
                f"cafile {self.tls.ca_cert}",
                f"certfile {self.tls.server_cert}",
                f"keyfile {self.tls.server_key}",
                "require_certificate true",
            ]
        return "\n".join(lines) + "\n"

    def _password_file(self) -> Path:
        path = self.directory / "passwords"
        if not path.exists():
            assert self.username is not None
            assert self.password is not None
            subprocess.run(
                [
                    "mosquitto_passwd",
                    "-b",
                    "-c",
                    str(path),
                    self.username,
                    self.password,
                ],
                check=True,
                capture_output=True,
            )
        return path

    def start(self) -> None:
        """Start the broker and wait until it accepts connections."""
        binary = find_mosquitto()
        assert binary is not None, "mosquitto is not installed"
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "mosquitto.conf"
        config.write_text(self.config_text())
        self._process = subprocess.Popen(
            [binary, "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL) and reap it."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def restart(self) -> None:
        """Stop and start again on the same port, as a broker reboot looks."""
        self.stop()
        self.start()

    def restart_with_password(self, password: str) -> None:
        """Restart on the same port, accepting our user only with `password`."""
        self.stop()
        (self.directory / "passwords").unlink()
        self.password = password
        self.start()

    def freeze(self) -> None:
        """Pause the process (SIGSTOP): connections stay open, nothing is answered."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Resume a frozen broker (SIGCONT)."""
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

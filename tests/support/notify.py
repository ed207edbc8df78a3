"""A fake service manager: the receiving end of NOTIFY_SOCKET, on a real unix socket."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

WAIT = 30.0  # for any event of a loaded machine; never an assertion on speed


@dataclass
class Manager:
    """The service manager's end of NOTIFY_SOCKET: every datagram, timed on arrival."""

    path: Path
    received: list[tuple[float, str]] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def listen(self, sock: socket.socket, stop: threading.Event) -> None:
        """Record datagrams until `stop` is set."""
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                data = sock.recv(4096)
            except TimeoutError:
                continue
            with self._changed:
                self.received.append((time.monotonic(), data.decode()))
                self._changed.notify_all()

    def wait(
        self, done: Callable[[list[str]], bool], what: str, timeout: float = WAIT
    ) -> list[str]:
        """Block until `done(messages)` holds; fail the test after `timeout` seconds."""
        with self._changed:
            ok = self._changed.wait_for(lambda: done(self.messages()), timeout)
            assert ok, f"never {what}; got {self.messages()}"
            return self.messages()

    def wait_status(self, text: str) -> None:
        """Block until a STATUS= line holds `text`; fail the test after WAIT seconds."""
        self.wait(
            lambda _: any(text in status for status in self.statuses()),
            f"a STATUS= with {text!r}",
        )

    def messages(self) -> list[str]:
        """Every datagram's text, oldest first."""
        with self._changed:
            return [text for _, text in self.received]

    def times(self, text: str) -> list[float]:
        """When each datagram equal to `text` arrived."""
        with self._changed:
            return [at for at, seen in self.received if seen == text]

    def statuses(self) -> list[str]:
        """Every STATUS= text, oldest first."""
        return [
            m.removeprefix("STATUS=") for m in self.messages() if m[:7] == "STATUS="
        ]


@contextmanager
def manager_socket() -> Iterator[Manager]:
    """A bound datagram socket in a short directory (unix paths end at 108 bytes)."""
    with (
        tempfile.TemporaryDirectory(prefix="sd-") as directory,
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock,
    ):
        path = Path(directory) / "notify"
        sock.bind(str(path))
        found, stop = Manager(path), threading.Event()
        thread = threading.Thread(target=found.listen, args=(sock, stop))
        thread.start()
        try:
            yield found
        finally:
            stop.set()
            thread.join()

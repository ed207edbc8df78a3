"""Notifier against real unix datagram sockets: the datagrams systemd would read."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge.service.systemd import Notifier

WATCHED = {"WATCHDOG_USEC": "30000000"}  # WatchdogSec=30
Listen = Callable[[str], tuple[socket.socket, str]]


@pytest.fixture
def listen(tmp_path: Path) -> Iterator[Listen]:
    """Bind datagram sockets as systemd would; yield each with its NOTIFY_SOCKET."""
    opened: list[socket.socket] = []

    def bind(kind: str) -> tuple[socket.socket, str]:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        opened.append(sock)
        if kind == "abstract":
            name = f"flume-mqtt-test-{uuid.uuid4().hex}"
            sock.bind("\0" + name)
            return sock, "@" + name
        path = str(tmp_path / "notify")
        sock.bind(path)
        return sock, path

    yield bind
    for sock in opened:
        sock.close()


def received(sock: socket.socket) -> list[str]:
    """Every datagram queued on `sock` (a unix sendto has queued it on return)."""
    sock.setblocking(False)
    messages = []
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except BlockingIOError:
            return messages


def fill(address: str) -> None:
    """Queue datagrams on `address` until the kernel refuses one more."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as filler:
        filler.setblocking(False)
        for _ in range(100_000):
            try:
                filler.sendto(b"X", address)
            except BlockingIOError:  # net.unix.max_dgram_qlen reached
                return
    raise AssertionError("the receive queue never filled")


def levels(caplog: pytest.LogCaptureFixture) -> list[int]:
    return [r.levelno for r in caplog.records if r.name == "bridge.service.systemd"]


@pytest.mark.parametrize("kind", ["path", "abstract"])
def test_each_call_sends_its_own_datagram(listen: Listen, kind: str) -> None:
    """ready, watchdog, status and stopping each send one datagram, in order."""
    sock, address = listen(kind)
    notifier = Notifier({"NOTIFY_SOCKET": address, **WATCHED})
    notifier.ready()
    notifier.watchdog()
    notifier.status("polling 2 sensors; 14 of 120 requests this hour")
    notifier.stopping()
    assert received(sock) == [
        "READY=1",
        "WATCHDOG=1",
        "STATUS=polling 2 sensors; 14 of 120 requests this hour",
        "STOPPING=1",
    ]


def test_a_status_text_cannot_add_assignments(listen: Listen) -> None:
    """Newlines, carriage returns and NULs in a status become spaces: one line."""
    sock, address = listen("path")
    notifier = Notifier({"NOTIFY_SOCKET": address})
    notifier.status("Flume down\nREADY=1\r\0MAINPID=1")
    notifier.status("bad byte \udcff kept")  # a surrogate from os.fsdecode
    assert received(sock) == [
        "STATUS=Flume down READY=1  MAINPID=1",
        "STATUS=bad byte ? kept",
    ]


def test_without_notify_socket_every_call_is_a_no_op(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Outside a notify unit no socket is opened, nothing is logged, nothing raises."""

    def no_socket(*args: object) -> socket.socket:
        raise AssertionError("a socket was opened without NOTIFY_SOCKET")

    monkeypatch.setattr("bridge.service.systemd.socket.socket", no_socket)
    caplog.set_level(logging.DEBUG)
    for environ in ({}, {"NOTIFY_SOCKET": ""}, {**WATCHED}):
        notifier = Notifier(environ)
        notifier.ready()
        notifier.watchdog()
        notifier.status("idle")
        notifier.stopping()
        assert notifier.watchdog_interval() is None
    assert caplog.records == []


def test_the_default_environment_is_os_environ(
    listen: Listen, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Notifier() reads the process environment, as systemd sets it for the unit."""
    sock, address = listen("path")
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.setenv("WATCHDOG_USEC", "5000000")
    notifier = Notifier()
    notifier.ready()
    assert notifier.watchdog_interval() == 2.5
    assert received(sock) == ["READY=1"]


OWN_PID = str(os.getpid())
OTHER_PID = str(os.getpid() + 1)
# WATCHDOG_* variables -> the interval, and whether watchdog() pings.
WATCHDOG_CASES = {
    "usec": ({"WATCHDOG_USEC": "30000000"}, 15.0),
    "usec and our pid": ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": OWN_PID}, 15.0),
    "sub-second": ({"WATCHDOG_USEC": "500"}, 0.00025),
    "another pid": ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": OTHER_PID}, None),
    "garbled pid": ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "main"}, None),
    "no usec": ({"WATCHDOG_PID": OWN_PID}, None),
    "nothing": ({}, None),
}


@pytest.mark.parametrize("case", WATCHDOG_CASES)
def test_the_watchdog_follows_watchdog_usec_and_watchdog_pid(
    listen: Listen, case: str
) -> None:
    """Only a watched process pings, every half timeout; READY=1 goes regardless."""
    variables, interval = WATCHDOG_CASES[case]
    sock, address = listen("path")
    notifier = Notifier({"NOTIFY_SOCKET": address, **variables})
    assert notifier.watchdog_interval() == interval
    notifier.ready()
    notifier.watchdog()
    pings = [] if interval is None else ["WATCHDOG=1"]
    assert received(sock) == ["READY=1", *pings]


@pytest.mark.parametrize("usec", ["0", "-1", "30s", ""])
def test_a_garbled_watchdog_usec_is_ignored_with_a_warning(
    listen: Listen, caplog: pytest.LogCaptureFixture, usec: str
) -> None:
    """An unusable WATCHDOG_USEC disables the watchdog and says why, once."""
    sock, address = listen("path")
    notifier = Notifier({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": usec})
    notifier.watchdog()
    assert notifier.watchdog_interval() is None
    assert received(sock) == []
    assert levels(caplog) == [logging.WARNING]
    assert f"WATCHDOG_USEC={usec!r}" in caplog.text


@pytest.mark.parametrize("address", ["notify.sock", "vsock:2:1234"])
def test_an_unsupported_notify_socket_is_ignored_with_a_warning(
    caplog: pytest.LogCaptureFixture, address: str
) -> None:
    """A relative path or a vsock address: one WARNING, then every call is a no-op."""
    notifier = Notifier({"NOTIFY_SOCKET": address, **WATCHED})
    notifier.ready()
    notifier.watchdog()
    assert notifier.watchdog_interval() is None
    assert levels(caplog) == [logging.WARNING]
    assert address in caplog.text


def test_a_vanished_socket_warns_once_per_streak(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Sends to a gone socket never raise: WARNING, then DEBUG; INFO on recovery."""
    caplog.set_level(logging.DEBUG, logger="bridge.service.systemd")
    path = tmp_path / "notify"
    notifier = Notifier({"NOTIFY_SOCKET": str(path), **WATCHED})  # not yet bound
    notifier.ready()
    notifier.watchdog()
    notifier.status("still going")
    assert levels(caplog) == [logging.WARNING, logging.DEBUG, logging.DEBUG]
    assert "systemd READY not sent to " + str(path) in caplog.records[0].getMessage()

    caplog.clear()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))  # the manager is back
        notifier.watchdog()
        assert received(sock) == ["WATCHDOG=1"]
    path.unlink()
    notifier.watchdog()  # gone again: a new streak
    assert levels(caplog) == [logging.INFO, logging.WARNING]
    assert "after 3 failed" in caplog.records[0].getMessage()


def test_a_full_receive_queue_costs_the_timeout_not_a_hang(
    listen: Listen, caplog: pytest.LogCaptureFixture
) -> None:
    """A manager that reads nothing makes a send give up after `timeout`, quietly."""
    sock, address = listen("path")
    fill(address)
    notifier = Notifier({"NOTIFY_SOCKET": address}, timeout=0.1)
    started = time.monotonic()
    notifier.status("blocked")
    assert 0.1 <= time.monotonic() - started < 1.0
    assert levels(caplog) == [logging.WARNING]
    assert "STATUS=blocked" not in received(sock)

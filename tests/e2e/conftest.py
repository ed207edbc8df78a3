"""Fixtures of the end-to-end tests: a fake service manager for `flume-mqtt run`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.notify import Manager, manager_socket


@pytest.fixture
def manager() -> Iterator[Manager]:
    """A service manager listening on a NOTIFY_SOCKET of the test's own."""
    with manager_socket() as found:
        yield found

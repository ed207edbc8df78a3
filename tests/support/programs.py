"""Debian programs the tests need: skip locally when one is missing, fail under CI."""

from __future__ import annotations

import os
import shutil

import pytest


def require(found: str | None, program: str) -> str:
    """Return `found`; without it skip the test, or fail it under CI (`CI` set)."""
    if not found:
        message = f"{program} is not installed (make test installs it when it can)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def require_program(program: str) -> str:
    """The path of `program` on PATH, or skip/fail as `require` does."""
    return require(shutil.which(program), program)

"""Files in STATE_DIR: replaced atomically (0600 temp, fsync, rename); their times."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

from bridge.errors import ConfigError

_SUFFIX = ".tmp"


def temp_prefix(path: Path) -> str:
    """The name prefix of `path`'s temp files: ".<stem>." (e.g. ".meter.")."""
    return f".{path.stem}."


def write_atomic(path: Path, data: bytes, *, sync_directory: bool = True) -> None:
    """Replace `path` with `data`: readers see the old file or the new one, whole.

    `sync_directory=False` leaves the rename to the file system's next commit: after a
    power cut the file may still be the one before, which suits a writer that can
    redo its last write (the meter re-reads those minutes from Flume).

    Raises:
        OSError: the directory or file could not be written; `path` is unchanged.
    """
    directory = path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    # One temp name per process and thread, in the same directory (so the rename is
    # atomic): no random names to draw (mkstemp's cost, once a minute), and
    # remove_leftovers still finds a killed writer's file by its prefix.
    temp = (
        directory / f"{temp_prefix(path)}{os.getpid()}-{threading.get_ident()}{_SUFFIX}"
    )
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        temp.replace(path)
    except OSError:
        temp.unlink(missing_ok=True)
        raise
    if sync_directory:
        _fsync_dir(directory)


def probe(directory: Path) -> None:
    """Make sure `directory` exists and takes a new file, as every write here needs.

    A real write rather than os.access: a read-only mount or a sandbox (systemd's
    ProtectSystem=) shows only when writing.

    Raises:
        ConfigError: it cannot be created or written, naming STATE_DIR.
    """
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryFile(prefix=".probe.", dir=directory) as file:
            file.write(b"ok")
            file.flush()
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError(f"STATE_DIR: cannot write {directory}: {reason}") from None


def remove_leftovers(directory: Path, prefix: str) -> None:
    """Delete temp files of a writer killed before its rename; never the file itself."""
    for leftover in directory.glob(f"{prefix}*{_SUFFIX}"):
        leftover.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_instant(value: object) -> datetime:
    """A time a state file stored as ISO 8601 with its offset, in UTC.

    Raises:
        TypeError: not a string.
        ValueError: not such a time, or one without an offset.
    """
    if not isinstance(value, str):
        raise TypeError("not a string")
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return when.astimezone(UTC)


def read_document(
    raw: bytes, version: int, section: str
) -> tuple[dict[str, object], dict[str, object]]:
    """A state file's JSON document of format `version`, and its object `section`.

    Raises:
        ValueError: not JSON, or not of that format.
        KeyError: no `section`.
        TypeError: `section` is not an object.
    """
    document = json.loads(raw)
    if not isinstance(document, dict) or document.get("format") != version:
        raise ValueError(f"not format {version}")
    found = document[section]
    if not isinstance(found, dict):
        raise TypeError(f"{section} is not an object")
    return document, found

"""flume-mqtt: bridge Flume smart water meters to MQTT."""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # Read lazily so that importing the package costs no metadata lookup.
    if name == "__version__":
        from importlib.metadata import (  # noqa: PLC0415 - lazy on purpose
            PackageNotFoundError,
            version,
        )

        try:
            return version("flume-mqtt")
        except (
            PackageNotFoundError
        ):  # pragma: no cover - only when run from a bare checkout
            return "0+unknown"
    raise AttributeError(name)

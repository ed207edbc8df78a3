"""Entry point for `python -m bridge`."""

from __future__ import annotations

from bridge.cli import main

raise SystemExit(main())

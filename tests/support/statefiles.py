"""Reading the state files a test's bridge wrote (meter.json, rules.json)."""

from __future__ import annotations

import json
from pathlib import Path


def through_on_disk(path: Path, device_id: str) -> str:
    """The `through` a meter.json or rules.json holds for a device (ISO text)."""
    document = json.loads(path.read_bytes())
    return str(document["devices"][device_id]["through"])

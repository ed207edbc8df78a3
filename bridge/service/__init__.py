"""The service: the loop and its timetable, the jobs, the board, systemd."""

from __future__ import annotations

from bridge.service.jobs import Jobs, Parts
from bridge.service.loop import Service

__all__ = ["Jobs", "Parts", "Service"]

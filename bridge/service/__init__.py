"""The service: the loop and its timetable, the jobs, the board, systemd."""

from __future__ import annotations

from bridge.service.jobs import Jobs
from bridge.service.loop import Service
from bridge.service.parts import Parts

__all__ = ["Jobs", "Parts", "Service"]

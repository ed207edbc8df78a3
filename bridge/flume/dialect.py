"""What this Flume server honours of our queries, learnt once from its answers.

Our reading of the docs is the starting point: `group_multiplier` and `sort_direction`
honoured, at most 10 queries per POST and 24 hours per MIN series (flume-api.md §5.3:
the limits other clients report, kept from the start). An answer that shows otherwise
(one bucket a minute for a grouped query, newest first when oldest was asked, a 400
naming a limit) teaches a lesson; each lesson is logged once at INFO and what the
server ignores is no longer sent. Lessons last for the process (a restart re-learns
them from the first answer, at the cost of that answer's surprise only).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_QUERIES = 10  # per POST: another client's limit (flume-api.md §5.3)
MAX_MIN_HOURS = 24  # per MIN series: a third-party claim (flume-api.md §5.3)
_AT_MOST = re.compile(r"at most (\d+)", re.IGNORECASE)
_NEAR = 30  # characters either side of "at most N" that say what is limited


@dataclass(frozen=True, slots=True)
class Dialect:
    """How to ask this server: what it honours, and its limits."""

    grouping: bool = True  # group_multiplier is honoured
    sorting: bool = True  # sort_direction is honoured
    newest_first: bool = False  # the order it answers in when sorting is ignored
    max_queries: int = MAX_QUERIES
    max_min_hours: int = MAX_MIN_HOURS


LESSONS = {
    "grouping": "Flume ignores group_multiplier: grouping its minutes here instead",
    "sorting": "Flume ignores sort_direction: placing its buckets by their labels",
    "max_queries": "Flume takes at most %s queries per request: splitting batches",
    "max_min_hours": "Flume takes at most %s hours per MIN series: splitting them",
}


class Habits:
    """The dialect learnt so far (one per server, shared by every sensor)."""

    def __init__(self, dialect: Dialect | None = None) -> None:
        self.dialect = dialect or Dialect()

    def learn(self, **changes: object) -> bool:
        """Take the lessons that change the dialect; log each once. True if any."""
        fresh = {
            name: value
            for name, value in changes.items()
            if getattr(self.dialect, name) != value
        }
        if not fresh:
            return False
        for name, value in fresh.items():
            text = LESSONS.get(name)
            if text is not None:
                log.info(text.replace("%s", str(value)))
        self.dialect = dataclasses.replace(self.dialect, **fresh)  # type: ignore[arg-type]  # names come from Dialect's own fields
        return True

    def limit_named(self, text: str) -> bool:
        """Learn a limit a 400 names ("... at most N queries/hours ..."); True if new.

        Each "at most N" is read with the words around it (what Flume said, after
        the status: the route names a query too). A limit is only ever lowered: a
        refusal cannot teach us to send more.
        """
        said = text.lower().partition("http 400")[2] or text.lower()
        for match in _AT_MOST.finditer(said):
            number = int(match.group(1))
            around = said[max(0, match.start() - _NEAR) : match.end() + _NEAR]
            for word, name in (("hour", "max_min_hours"), ("quer", "max_queries")):
                if word in around and 1 <= number < getattr(self.dialect, name):
                    return self.learn(**{name: number})
        return False

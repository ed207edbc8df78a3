"""ServerClock: Flume's idea of now, from the `Date` header of its answers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

log = logging.getLogger(__name__)

# The header counts whole seconds, so offsets this close to the current one are noise.
JITTER = 1.5
# A host clock this far off Flume's is worth one line: a Pi without RTC after boot.
SKEW_NOTICE = 60.0
PLAUSIBLE_YEARS = (2000, 2200)


def parse_http_date(header: str | None) -> float | None:
    """Return an RFC 7231 date as a POSIX timestamp, or None if it is not one."""
    if not header:
        return None
    try:
        when = parsedate_to_datetime(header)
    except ValueError:
        return None
    if not PLAUSIBLE_YEARS[0] <= when.year < PLAUSIBLE_YEARS[1]:
        return None  # a year this far off is a broken server and would overflow now()
    # asctime dates carry no zone: HTTP dates are always GMT.
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


class ServerClock:
    """Flume's time, learnt from its answers; now() is Flume's time.

    Between answers it runs on the monotonic clock, not the host's: NTP may set the
    host clock hours on (a Pi boots with the time it shut down), and the windows,
    the token's expiry and the data's freshness must not jump with it.
    """

    def __init__(
        self,
        local: Callable[[], float] = time.time,
        elapsed: Callable[[], float] = time.monotonic,
    ) -> None:
        self._local = local
        self._elapsed = elapsed
        self._base: float | None = None  # Flume's time less elapsed(), once known
        self._noticed = False

    @property
    def offset(self) -> float:
        """Seconds to add to the host clock to get Flume's."""
        return (
            0.0 if self._base is None else self._base + self._elapsed() - self._local()
        )

    def observe(self, date_header: str | None) -> None:
        """Take the server time of one answer into account; garbage is ignored."""
        server = parse_http_date(date_header)
        if server is None:
            log.debug("ignoring a Date header that is not a date: %.40r", date_header)
            return
        # The header is the server's time rounded down to the second: take the middle.
        server += 0.5
        if self._base is None and abs(server - self._local()) < JITTER:
            server = self._local()  # the host is right: keep its finer time
        elif abs(server - self._seconds()) < JITTER:
            return
        self._base = server - self._elapsed()
        self._notice()

    def now(self) -> datetime:
        """Return Flume's current time as an aware UTC datetime."""
        return datetime.fromtimestamp(self._seconds(), UTC)

    def _seconds(self) -> float:
        if self._base is None:
            return self._local()
        return self._base + self._elapsed()

    def _notice(self) -> None:
        offset = self.offset
        if self._noticed or abs(offset) <= SKEW_NOTICE:
            return
        self._noticed = True
        side = "behind" if offset > 0 else "ahead of"
        log.info(
            "the host clock is %.0f s %s Flume's; using Flume's time",
            abs(offset),
            side,
        )

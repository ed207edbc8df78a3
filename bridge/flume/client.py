"""FlumeClient: the API routes the bridge uses, as typed calls on one account."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from bridge.errors import (
    ConfigError,
    FlumeAuthError,
    FlumeProtocolError,
    FlumeUnavailableError,
)
from bridge.flume import convert
from bridge.flume.dialect import Habits
from bridge.flume.http import FlumeHttp, Params
from bridge.flume.reading import FieldWatch
from bridge.flume.schema import Envelope
from bridge.flume.tokens import TokenManager
from bridge.models import (
    Answer,
    Device,
    FlowReading,
    Location,
    Notification,
    UsageAlert,
)

log = logging.getLogger(__name__)

PAGE_LIMIT = 50  # Flume's default page size
MAX_PAGES = 4  # per listing; newest first, so older pages matter less

T = TypeVar("T")


def safe_next(link: str | None) -> str | None:
    """Return a `pagination.next` link if it is a path on this API, else None.

    The bearer token goes with every page: a link to another host must not be followed.
    """
    if link is None:
        return None
    if not link.startswith("/") or link.startswith("//"):
        log.warning("not following pagination.next %.80r: not a path", link)
        return None
    return link


def select_devices(
    devices: Sequence[Device], wanted: Sequence[str]
) -> tuple[list[Device], list[str]]:
    """Return the devices FLUME_DEVICE_IDS selects (all when empty) and unknown ids."""
    if not wanted:
        return list(devices), []
    known = {device.id for device in devices}
    chosen = [device for device in devices if device.id in wanted]
    return chosen, [device_id for device_id in wanted if device_id not in known]


def served(
    devices: Sequence[Device], wanted: Sequence[str], *, strict: bool = True
) -> list[Device]:
    """The devices the bridge serves: those FLUME_DEVICE_IDS selects.

    Raises:
        ConfigError: `strict`, and it names a device the account does not have
            (otherwise a warning: a device that left the account since the start).
    """
    chosen, unknown = select_devices(devices, wanted)
    if unknown and strict:
        raise ConfigError(
            f"FLUME_DEVICE_IDS: not in this account: {', '.join(unknown)}"
        )
    if unknown:
        log.warning("devices no longer in the account: %s", ", ".join(unknown))
    return chosen


class FlumeClient:
    """Devices, usage, flow, leaks, notifications and alerts of one Flume account."""

    def __init__(
        self,
        http: FlumeHttp,
        tokens: TokenManager,
        *,
        page_limit: int = PAGE_LIMIT,
        max_pages: int = MAX_PAGES,
    ) -> None:
        self._http = http
        self._tokens = tokens
        self._page_limit = page_limit
        self._max_pages = max_pages
        self.habits = Habits()  # what this server honours of our usage queries
        self.watch = FieldWatch()  # which fields of the usage answers fail

    @property
    def user_id(self) -> int:
        """The Flume user id of the account (logs in if needed)."""
        return self._tokens.user_id

    def close(self) -> None:
        """Close the HTTP session."""
        self._http.close()

    def devices(self) -> list[Device]:
        """List the devices (own and shared) with their locations: two requests."""
        params = {"location": "true", "list_shared": "true", "user": "false"}
        items = self._collect(self._user("/devices"), params)
        found = convert.devices(items, self.locations())
        log.debug("listed %d devices", len(found))
        return found

    def locations(self) -> list[Location]:
        """List the locations (own and shared) with their time zones."""
        items = self._collect(self._user("/locations"), {"list_shared": "true"})
        return convert.locations(items)

    def location(self, location_id: int) -> Location:
        """Read one location (its away mode now): one request."""
        envelope = self._call("GET", self._user(f"/locations/{location_id}"))
        return convert.one_location(envelope.data)

    def set_away(self, location_id: int, away: bool) -> None:
        """Turn a location's away mode on or off: one PATCH (flume-api.md §3.6).

        Raises:
            FlumeError: Flume refused it (a 400, a 404) or did not answer.
        """
        path = self._user(f"/locations/{location_id}")
        self._call("PATCH", path, body={"away_mode": away})

    def query(self, device_id: str, queries: Sequence[Mapping[str, object]]) -> Answer:
        """Run a batched usage query; the answer maps each request_id to its points.

        One POST holds at most the dialect's queries; a 400 that names a smaller
        limit is learnt at once, and the batch is split and sent again.

        Raises:
            FlumeError: a POST failed (a refusal naming a MIN limit is learnt first,
                so that windows cut anew are asked for in parts).
        """
        while True:
            most = self.habits.dialect.max_queries
            try:
                return self._query(device_id, queries)
            except FlumeProtocolError as error:
                if error.status != 400 or not self.habits.limit_named(str(error)):
                    raise
                if self.habits.dialect.max_queries == most:
                    raise  # a limit on the windows themselves: cut them anew

    def _query(self, device_id: str, queries: Sequence[Mapping[str, object]]) -> Answer:
        path = self._user(f"/devices/{device_id}/query")
        most = self.habits.dialect.max_queries
        answer = Answer()
        for begin in range(0, len(queries), most):
            body = {"queries": [dict(q) for q in queries[begin : begin + most]]}
            part = convert.series(self._call("POST", path, body=body).data)
            answer.update(part)
            answer.problems.update(part.problems)
        return answer

    def active_flow(self, device_id: str) -> FlowReading:
        """Return the live flow reading of a sensor."""
        path = self._user(f"/devices/{device_id}/query/active")
        return convert.flow(self._call("GET", path).data)

    def leak_active(self, device_id: str) -> bool:
        """Return whether Flume currently detects a leak at a sensor."""
        path = self._user(f"/devices/{device_id}/leaks/active")
        return convert.leak(self._call("GET", path).data)

    def notifications(self, since: datetime | None = None) -> list[Notification]:
        """Return notifications newer than `since` (all if None), newest first."""
        params = {"sort_field": "created_datetime", "sort_direction": "DESC"}
        pages = self._pages(self._user("/notifications"), params)
        return _newer(pages, convert.notifications, lambda n: n.created_at, since)

    def usage_alerts(self, since: datetime | None = None) -> list[UsageAlert]:
        """Return usage alerts triggered after `since` (all if None), newest first."""
        params = {"sort_field": "triggered_datetime", "sort_direction": "DESC"}
        pages = self._pages(self._user("/usage-alerts"), params)
        return _newer(pages, convert.usage_alerts, lambda a: a.triggered_at, since)

    def _user(self, suffix: str) -> str:
        return f"/users/{self._tokens.user_id}{suffix}"

    def _collect(self, path: str, params: dict[str, str]) -> list[object]:
        return [item for page in self._pages(path, params) for item in page]

    def _pages(self, path: str, params: dict[str, str]) -> Iterator[list[object]]:
        """Yield the `data` of each page, following `pagination.next` a bounded time."""
        link: str | None = path
        query: Params | None = {**params, "limit": self._page_limit}
        for _ in range(self._max_pages):
            if link is None:
                return
            envelope = self._call("GET", link, params=query)
            yield envelope.data
            pagination = envelope.pagination
            link = safe_next(pagination.next if pagination is not None else None)
            query = None  # `next` carries every parameter
        if link is not None:
            log.debug("stopped after %d pages of %s", self._max_pages, path)

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Mapping[str, object] | None = None,
    ) -> Envelope:
        """Send one request; a 401 forces one token refresh and one retry.

        On a data route FlumeHttp raises FlumeAuthError only for a 401.
        """
        token = self._tokens.access_token()
        try:
            return self._http.request(
                method, path, token=token, params=params, body=body
            )
        except FlumeAuthError:
            log.info("Flume rejected the access token; refreshing it")
        self._tokens.force_refresh()
        token = self._tokens.access_token()
        try:
            return self._http.request(
                method, path, token=token, params=params, body=body
            )
        except FlumeAuthError as error:
            # Transient: a fresh token refused again is Flume's hiccup, not our login.
            raise FlumeUnavailableError(
                f"{error} (again, after a token refresh)", status=401
            ) from None


def _newer(
    pages: Iterator[list[object]],
    convert_page: Callable[[list[object]], list[T]],
    when: Callable[[T], datetime],
    since: datetime | None,
) -> list[T]:
    """Items newer than `since` from pages sorted newest first; stops at older ones."""
    found: list[T] = []
    for page in pages:
        items = convert_page(page)
        fresh = [item for item in items if since is None or when(item) > since]
        found.extend(fresh)
        if len(fresh) < len(items):
            break  # the rest is older
    return found

"""Pagination of the simulator's lists: count, next/prev paths, walking them."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from bridge.simulator.server import Simulator


def walk(session: requests.Session, path: str) -> tuple[list[Any], list[str]]:
    """Follow `pagination.next` from `path`; return every item and each path used."""
    items: list[Any] = []
    paths = [path]
    while True:
        body = session.get(paths[-1]).json()
        items += body["data"]
        pagination = body["pagination"]
        if pagination is None or pagination["next"] is None:
            return items, paths
        paths.append(pagination["next"])


@pytest.fixture
def busy(sim_factory: Any, session_for: Any, login_as: Any) -> tuple[Simulator, Any]:
    """A year of alert history on two sensors, and a logged-in session."""
    sim = sim_factory(sensors=2, history_days=365, leak=True)
    session = session_for(sim)
    login_as(session)
    return sim, session


@pytest.mark.parametrize("route", ["usage-alerts", "notifications"])
def test_walking_next_visits_every_item_once(
    busy: tuple[Simulator, Any], route: str
) -> None:
    """Following `next` from page one yields exactly `count` distinct items."""
    sim, session = busy
    path = f"/users/{sim.model.account.user_id}/{route}?limit=25"
    first = session.get(path).json()
    assert first["count"] > 50
    assert len(first["data"]) == 25
    items, paths = walk(session, path)
    assert len(items) == first["count"]
    assert len({item["id"] for item in items}) == first["count"]
    assert len(paths) == -(-first["count"] // 25)


def test_next_keeps_the_filters_and_order(busy: tuple[Simulator, Any]) -> None:
    """Later pages keep sort_direction and filters; the whole walk stays sorted."""
    sim, session = busy
    uid = sim.model.account.user_id
    path = (
        f"/users/{uid}/usage-alerts?sort_field=triggered_datetime&sort_direction=DESC"
        "&flume_leak=false&limit=10"
    )
    items, paths = walk(session, path)
    stamps = [item["triggered_datetime"] for item in items]
    assert stamps == sorted(stamps, reverse=True)
    assert not any(item["flume_leak"] for item in items)
    assert paths[1] == (
        f"/users/{uid}/usage-alerts?sort_field=triggered_datetime&sort_direction=DESC"
        "&flume_leak=false&offset=10&limit=10"
    )


def test_pagination_paths_look_like_flumes(busy: tuple[Simulator, Any]) -> None:
    """Without other parameters `next` is "/users/{uid}/...?offset=N&limit=M"."""
    sim, session = busy
    uid = sim.model.account.user_id
    body = session.get(f"/users/{uid}/usage-alerts").json()
    assert body["pagination"] == {
        "next": f"/users/{uid}/usage-alerts?offset=50&limit=50",
        "prev": None,
    }
    middle = session.get(f"/users/{uid}/usage-alerts?offset=5&limit=3").json()
    assert middle["pagination"]["prev"] == f"/users/{uid}/usage-alerts?offset=2&limit=3"
    assert middle["pagination"]["next"] == f"/users/{uid}/usage-alerts?offset=8&limit=3"
    early = session.get(f"/users/{uid}/usage-alerts?offset=2&limit=3").json()
    assert early["pagination"]["prev"] == f"/users/{uid}/usage-alerts?offset=0&limit=3"


def test_last_page_and_beyond(busy: tuple[Simulator, Any]) -> None:
    """The last page has no `next`; an offset past the end is an empty page."""
    sim, session = busy
    path = f"/users/{sim.model.account.user_id}/notifications"
    count = session.get(path).json()["count"]
    last = session.get(path, params={"offset": count - 1, "limit": 5}).json()
    assert len(last["data"]) == 1
    assert last["pagination"]["next"] is None
    beyond = session.get(path, params={"offset": count + 10}).json()
    assert beyond["data"] == []
    assert beyond["count"] == count


def test_short_lists_have_null_pagination(api: requests.Session, uid: int) -> None:
    """A list that fits in one page has `pagination: null` and count = len(data)."""
    body = api.get(f"/users/{uid}/devices").json()
    assert body["pagination"] is None
    assert body["count"] == len(body["data"]) == 2

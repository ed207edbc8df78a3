"""The request pipeline: route, fault, guard, handle, count; and the route table."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from bridge.simulator import routes_account as account
from bridge.simulator import routes_control as control
from bridge.simulator import routes_scenario as scenario
from bridge.simulator import routes_water as water
from bridge.simulator.envelope import ApiError, Delivery, Reply, failure, json_reply
from bridge.simulator.guards import loopback_guard, user_guard
from bridge.simulator.mangle import apply
from bridge.simulator.routes_oauth import token
from bridge.simulator.routing import Call, Request, Route, Router
from bridge.simulator.state import State

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/_sim"
UNMATCHED = "(no route)"
U = "/users/{uid}"
D = f"{U}/devices/{{did}}"

FLUME_ROUTES = (
    Route("POST", "/oauth/token", token),
    Route("GET", U, account.get_user, user_guard),
    Route("GET", f"{U}/devices", account.list_devices, user_guard),
    Route("GET", D, account.get_device, user_guard),
    Route("GET", f"{U}/locations", account.list_locations, user_guard),
    Route("GET", f"{U}/locations/{{lid}}", account.get_location, user_guard),
    Route("PATCH", f"{U}/locations/{{lid}}", account.update_location, user_guard),
    Route("POST", f"{D}/query", water.query, user_guard),
    Route("GET", f"{D}/query/active", water.active_flow, user_guard),
    Route("GET", f"{D}/leaks/active", water.active_leak, user_guard),
    Route("GET", f"{U}/notifications", water.list_notifications, user_guard),
    Route("GET", f"{U}/usage-alerts", water.list_usage_alerts, user_guard),
)

CONTROL_ROUTES = tuple(
    Route(method, CONTROL_PREFIX + path, handler, loopback_guard)
    for method, path, handler in (
        ("GET", "/account", control.account),
        ("GET", "/truth", control.truth),
        ("GET", "/uses", control.uses),
        ("GET", "/stats", control.stats),
        ("DELETE", "/stats", control.reset_stats),
        ("GET", "/faults", control.list_faults),
        ("POST", "/faults", control.add_fault),
        ("DELETE", "/faults", control.clear_faults),
        ("GET", "/clock", control.get_clock),
        ("POST", "/clock", control.set_clock),
        ("GET", "/behaviour", control.get_behaviour),
        ("POST", "/behaviour", control.set_behaviour),
        ("GET", "/outages", scenario.list_outages),
        ("POST", "/outages", scenario.add_outage),
        ("DELETE", "/outages", scenario.clear_outages),
        ("POST", "/devices/{did}", scenario.set_device),
        ("POST", "/leak", scenario.leak),
    )
)


def control_failure(error: ApiError) -> Reply:
    """Return a control-route error: plain JSON, no Flume envelope."""
    document = {"error": error.message, "detailed": error.detailed}
    return json_reply(error.status, document, error.headers)


class App:
    """Turns a Request into a Reply; shared by every server thread."""

    def __init__(self, state: State) -> None:
        self.state = state
        self._flume = Router(FLUME_ROUTES)
        self._control = Router(CONTROL_ROUTES)

    def __call__(self, request: Request) -> Reply:
        """Answer one request."""
        path = request.path
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self._serve_control(request)
        arrived = self.state.clock.now()
        route_key, reply = self._serve_flume(request)
        status = "dropped" if reply.delivery is Delivery.DROP else str(reply.status)
        self.state.stats.record(route_key, status, arrived)
        log.debug("%s -> %s", route_key, status)
        return self._with_budget(reply)

    def _with_budget(self, reply: Reply) -> Reply:
        # flume-api.md §5.1: one client reads X-RateLimit-* on Flume's answers; we
        # send the account's real rolling-hour count on every answer, 429s included.
        if (
            reply.delivery is Delivery.DROP
            or not self.state.behaviour.get().rate_headers
        ):
            return reply
        budget = self.state.limiter.budget(self.state.model.account.user_id)
        return dataclasses.replace(reply, headers=(*reply.headers, *budget.headers()))

    def _serve_control(self, request: Request) -> Reply:
        try:
            route, args = self._control.match(request.method, request.path)
            user = route.guard(self.state, request, args)
            return route.handler(self.state, Call(request, args, user))
        except ApiError as error:
            return control_failure(error)

    def _serve_flume(self, request: Request) -> tuple[str, Reply]:
        try:
            route, args = self._flume.match(request.method, request.path)
        except ApiError as error:
            key, run = f"{request.method} {UNMATCHED}", _raiser(error)
        else:
            key, run = route.key, _runner(self.state, route, Call(request, args))
        rule = self.state.faults.take(request.method, request.path)
        return key, run() if rule is None else apply(rule, run)


def _raiser(error: ApiError) -> Callable[[], Reply]:
    return lambda: failure(error)


def _runner(state: State, route: Route, call: Call) -> Callable[[], Reply]:
    def run() -> Reply:
        try:
            user = route.guard(state, call.request, call.args)
            return route.handler(state, Call(call.request, call.args, user))
        except ApiError as error:
            return failure(error)

    return run

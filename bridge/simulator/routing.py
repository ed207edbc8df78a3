"""Requests, path templates and the route table that maps them to handlers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bridge.simulator.envelope import ApiError, Reply

if TYPE_CHECKING:
    from bridge.simulator.state import State

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as the application sees it."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    client: str = "127.0.0.1"

    def param(self, name: str) -> str | None:
        """Return the last value of a query parameter, or None if it is absent."""
        values = [value for key, value in self.query if key == name]
        return values[-1] if values else None


@dataclass(frozen=True, slots=True)
class Call:
    """A routed request: path arguments and the authenticated user, if any."""

    request: Request
    args: Mapping[str, str]
    user_id: int | None = None


Handler = Callable[["State", Call], Reply]
Guard = Callable[["State", Request, Mapping[str, str]], "int | None"]


def open_guard(_state: State, _request: Request, _args: Mapping[str, str]) -> None:
    """Let every request through, unauthenticated."""


@dataclass(frozen=True, slots=True)
class Route:
    """A method and path template, the guard in front and the handler behind."""

    method: str
    template: str
    handler: Handler
    guard: Guard = open_guard
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # split() alternates literal text and placeholder names.
        parts = _PLACEHOLDER.split(self.template)
        regex = "".join(
            f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part)
            for index, part in enumerate(parts)
        )
        object.__setattr__(self, "pattern", re.compile(f"{regex}$"))

    @property
    def key(self) -> str:
        """The name used in statistics, e.g. "GET /users/{uid}/devices"."""
        return f"{self.method} {self.template}"


class Router:
    """Finds the route of a request, or says why there is none (404 or 405)."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes = tuple(routes)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """Return the route and path arguments, or raise a 404/405 ApiError."""
        allowed: list[str] = []
        for route in self._routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.method == method:
                return route, found.groupdict()
            allowed.append(route.method)
        if allowed:
            raise ApiError(
                405,
                "Method Not Allowed",
                [f"{method} is not supported on {path}"],
                headers=(("Allow", ", ".join(sorted(set(allowed)))),),
            )
        raise ApiError(404, "Not Found", [f"No route for {method} {path}"])

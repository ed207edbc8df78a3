"""The HTTP/1.1 transport: a threading server that turns sockets into Requests."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from bridge.simulator.envelope import ApiError, Delivery, Reply, failure
from bridge.simulator.routing import Request

log = logging.getLogger(__name__)

App = Callable[[Request], Reply]
MAX_BODY = 1 << 20


class SimHTTPServer(ThreadingHTTPServer):
    """A threading server that can cut its keep-alive connections on shutdown."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        app: App,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        self.now = now
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Remember the connection so that close_connections() can reach it."""
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget a finished connection, then close it."""
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, _request: Any, client_address: Any) -> None:
        """Log a broken connection quietly: clients time out and hang up routinely."""
        log.debug(
            "simulator: connection %s failed: %s", client_address, sys.exc_info()[1]
        )

    def close_connections(self) -> None:
        """Wake every handler thread blocked on an idle keep-alive connection."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its handler
                connection.shutdown(socket.SHUT_RDWR)


def _too_large() -> ApiError:
    return ApiError(413, "Payload Too Large", [f"The body limit is {MAX_BODY} bytes"])


def _read_chunked(rfile: Any) -> bytes:
    chunks: list[bytes] = []
    size = int(rfile.readline().split(b";")[0], 16)
    while size:
        if sum(map(len, chunks)) + size > MAX_BODY:
            raise _too_large()
        chunks.append(rfile.read(size))
        rfile.readline()
        size = int(rfile.readline().split(b";")[0], 16)
    while rfile.readline() not in (b"\r\n", b"\n", b""):
        pass  # trailers
    return b"".join(chunks)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK
    # would hold every response back by ~40 ms.
    disable_nagle_algorithm = True
    server: SimHTTPServer

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815 - as above

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header: the simulated time, as a real server reports its own."""
        if timestamp is None and self.server.now is not None:
            timestamp = self.server.now().timestamp()
        return super().date_time_string(timestamp)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Stay quiet: the application logs requests without their secrets."""

    def log_error(self, format: str, *args: Any) -> None:
        """Send transport errors to the module logger at DEBUG."""
        log.debug("http: " + format, *args)  # noqa: G003 - the base class's format

    def _serve(self) -> None:
        try:
            request = self._request()
        except ApiError as error:
            # The rest of the body may still be in the socket: never reuse it.
            self.close_connection = True
            self._write(failure(error))
            return
        try:
            reply = self.server.app(request)
        # The request boundary: a bug in a route answers 500, like a real server,
        # instead of dropping the client's connection without a word.
        except Exception:
            log.exception(
                "simulator: unexpected error in %s %s", self.command, self.path
            )
            reply = failure(ApiError(500, "Internal Server Error"))
        self._write(reply)

    def _request(self) -> Request:
        url = urlsplit(self.path)
        path = unquote(url.path)
        if len(path) > 1:
            path = path.rstrip("/")
        return Request(
            method=self.command,
            path=path,
            query=tuple(parse_qsl(url.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self._body(),
            client=str(self.client_address[0]),
        )

    def _body(self) -> bytes:
        try:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return _read_chunked(self.rfile)
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise ApiError(400, "Bad Request", ["Unreadable request body"]) from None
        if length > MAX_BODY:
            raise _too_large()
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, reply: Reply) -> None:
        if reply.delivery is Delivery.DROP:
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        body = reply.body
        if reply.delivery is Delivery.TRUNCATE:
            body = body[: len(body) // 2]
            self.close_connection = True
        self.wfile.write(body)

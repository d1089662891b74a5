"""What a route handler is given and what it returns, on olga's own HTTP server (``server/http1.py``).

A request arrives whole: its body read (and decoded from its ``Content-Encoding``) before the handler
runs, or replaced by what was wrong with it (``body_error``), which the handler answers after
authentication like any other mistake.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

from multidict import CIMultiDictProxy, MultiDict, MultiDictProxy

from olga_cli.errors import GatewayError
from olga_cli.gateway.error_response import ErrorShape, render

if TYPE_CHECKING:
    from aiohttp import web


class Connection(Protocol):
    """What a request's answer is written to: the caller's connection (``server/http1.py``)."""

    def respond(self, request: Request, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """A whole answer, sent now."""

    def start(self, request: Request, status: int, headers: Mapping[str, str]) -> None:
        """The head of a streamed answer."""

    async def write(self, data: bytes) -> None:
        """Part of a streamed answer; ``ConnectionResetError`` once the caller has gone."""

    def end(self) -> None:
        """The end of a streamed answer."""

    def gone(self) -> bool:
        """True once the caller has disconnected."""


class Request:
    __slots__ = (
        "_query",
        "app",
        "body",
        "body_error",
        "connection",
        "headers",
        "keep_alive",
        "match_info",
        "method",
        "path",
        "query_string",
        "raw_path",
        "version",
    )

    def __init__(
        self,
        *,
        method: str,
        path: str,
        raw_path: str,
        query_string: str,
        headers: CIMultiDictProxy[str],
        version: tuple[int, int],
        body: bytes,
        body_error: GatewayError | None,
        keep_alive: bool,
        connection: Connection,
        app: web.Application,
    ) -> None:
        self.method = method
        self.path = path  # percent-decoded
        self.raw_path = raw_path  # as it came, percent-encoded: routes match it (``wire.routed_path``)
        self.query_string = query_string
        self.headers = headers
        self.version = version
        self.body = body
        self.body_error = body_error
        self.keep_alive = keep_alive
        self.connection = connection
        self.app = app  # the application's state (``app_keys``): the gateway, metrics
        self.match_info: dict[str, str] = {}
        self._query: MultiDictProxy[str] | None = None

    @property
    def query(self) -> MultiDictProxy[str]:
        """The query string's parameters, blank values kept."""
        if self._query is None:
            self._query = MultiDictProxy(MultiDict(parse_qsl(self.query_string, keep_blank_values=True)))
        return self._query


class Response:
    """A whole answer. ``Content-Length`` is olga's to set; ``Content-Type`` defaults to bytes."""

    __slots__ = ("body", "headers", "status")

    def __init__(
        self, status: int = 200, headers: Mapping[str, str] | None = None, body: bytes = b""
    ) -> None:
        self.status = status
        self.headers: Mapping[str, str] = headers or {}
        self.body = body


def error_response(shape: ErrorShape, error: GatewayError) -> Response:
    """``error`` in the API shape of the route it answers."""
    status, headers, body = render(shape, error)
    return Response(status, headers, body)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(data).encode())


# A handler returns its answer, or None when it has sent one itself (a stream, through a sink).
Handler = Callable[[Request], Awaitable[Response | None]]

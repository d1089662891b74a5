"""olga's HTTP/1.1 server: an asyncio protocol and llhttp's parser (``httptools``).

Why not aiohttp's server: measured alone (a route, two middlewares, a small JSON answer, wrk at
concurrency 16 on one core), it cost 106-135 µs of CPU per request, the same exchange on a protocol
with httptools 23-32 µs; olga used none of what the difference pays for (websockets, sessions,
cookies, the request's stream reader). aiohttp's ``Application`` still holds the app's state and
runs its start-up and clean-up; this module only reads requests and writes answers.

What a connection does:
- keep-alive (HTTP/1.1 by default, HTTP/1.0 when asked), pipelined requests answered in order;
- a body read whole before its handler runs, ``gzip`` and ``deflate`` decoded, kept within
  ``max_body`` (more is a 413 answered by the handler, after authentication, like any other mistake);
- ``Expect: 100-continue`` answered at once;
- what cannot be parsed (a request line or header over its limit, too many headers, a bare CR or
  NUL in a value, a bad chunk size, TLS on the plain port) is a JSON 400 in the route's API shape,
  then the connection closes;
- answers whole (``Content-Length``) or streamed (chunked), writing paused while the caller reads
  slowly; a caller who has gone is ``gone()`` to the pipeline's watch;
- idle keep-alive connections closed after ``KEEPALIVE`` seconds; at shutdown, idle ones at once and
  busy ones once their answer is out (or the runner's timeout passes).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast
from urllib.parse import unquote

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

from olga_cli.errors import GatewayError, InternalError
from olga_cli.gateway.error_response import ErrorShape
from olga_cli.gateway.unexpected import UNEXPECTED
from olga_cli.server.edge import body_too_large
from olga_cli.server.request import Request, error_response
from olga_cli.server.router import Router
from olga_cli.server.wire import (
    MAX_FIELD,
    MAX_HEAD,
    MAX_HEADERS,
    MAX_LINE,
    decoded_body,
    head,
    routed_path,
    unreadable_error,
)

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("olga.server")

KEEPALIVE = 75.0  # seconds an idle keep-alive connection stays open
QUEUED_MAX = 8  # pipelined requests read ahead before the connection stops reading

_VERSIONS = {"1.1": (1, 1), "1.0": (1, 0)}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def _shape_of(path: str) -> ErrorShape:
    """The API whose error shape answers a request for ``path``."""
    return "anthropic" if "/messages" in path else "openai"


class _Unreadable(Exception):
    """A limit met while parsing; its text says which."""


class _Refusal:
    """A request that could not be read, answered in its turn with this error, in this shape."""

    __slots__ = ("error", "shape")

    def __init__(self, error: GatewayError, shape: ErrorShape) -> None:
        self.error, self.shape = error, shape


class Connection(asyncio.Protocol):
    """One caller's connection: requests parsed as they arrive, answered one at a time in order."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.idle_since = 0.0
        self._parser = httptools.HttpRequestParser(self)
        self._queue: deque[Request | _Refusal] = deque()
        self._task: asyncio.Task[None] | None = None
        self._closing = False  # answer what is in hand, then close
        self._reading_paused = False
        self._writing_paused = False
        self._writable: asyncio.Future[None] | None = None
        self._answered = False  # the current request's answer has begun
        self._chunked = True  # the current stream's framing (HTTP/1.0 streams are read to the close)
        self._reset()

    # -- asyncio's side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.idle_since = self.server.loop.time()
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._wake_writer()
        if self._task is None:
            self.server.connections.discard(self)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake_writer()

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return  # after an unreadable request or an upgrade: nothing more is read
        if self._head_left is not None:
            self._head_left -= len(data)
            if self._head_left < 0:
                self._unreadable(_Unreadable("header section too large"))
                return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # The request itself was read whole; olga upgrades to nothing, so it is answered, saying
            # the connection closes, and what follows it (another protocol) is not read.
            self._closing = True
            if self._queue and isinstance(self._queue[-1], Request):
                self._queue[-1].keep_alive = False
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            self._unreadable(cause if isinstance(cause, _Unreadable) else exc)

    # -- the parser's callbacks

    def _reset(self) -> None:
        self._url: list[bytes] = []
        self._url_size = 0
        self._fields: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._too_large = False
        self._head_left: int | None = None  # bytes the rest of the head may take, while it is read
        self._headers: CIMultiDictProxy[str] | None = None

    def on_message_begin(self) -> None:
        self._reset()
        self._head_left = MAX_HEAD

    def on_url(self, url: bytes) -> None:
        self._url.append(url)
        self._url_size += len(url)
        if self._url_size > MAX_LINE:
            raise _Unreadable("request line too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(value) > MAX_FIELD or len(name) > MAX_FIELD:
            raise _Unreadable("header line too long")
        self._fields.append((name, value))
        if len(self._fields) > MAX_HEADERS:
            raise _Unreadable("too many headers")

    def on_headers_complete(self) -> None:
        self._head_left = None
        # Values that are not UTF-8 arrive as lone surrogates; ``edge.readable_headers`` drops them.
        headers = CIMultiDictProxy(
            CIMultiDict(
                [
                    (n.decode("utf-8", "surrogateescape"), v.decode("utf-8", "surrogateescape"))
                    for n, v in self._fields
                ]
            )
        )
        self._headers = headers
        length = headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > self.server.max_body:
            self._too_large = True  # not kept in memory: it will be refused whatever it holds
        expect = headers.get("Expect")
        if (
            expect is not None
            and expect.lower() == "100-continue"
            and self._task is None
            and self._parser.get_http_version() == "1.1"
            and self.transport is not None
        ):
            self.transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        if self._too_large:
            return
        self._size += len(body)
        if self._size > self.server.max_body:
            self._too_large = True
            self._body.clear()
        else:
            self._body.append(body)

    def on_message_complete(self) -> None:
        try:
            request: Request | _Refusal = self._request()
        except httptools.HttpParserInvalidURLError:
            request = _Refusal(unreadable_error("invalid URL"), self._shape_so_far())
            self._closing = True
        self._reset()
        self._enqueue(request)

    def _enqueue(self, item: Request | _Refusal) -> None:
        """``item`` answered in its turn: by a task started now if none is answering; reading paused
        while too many wait."""
        self._queue.append(item)
        if self._task is None:
            self._task = self.server.loop.create_task(self._serve())
        elif len(self._queue) >= QUEUED_MAX and self.transport is not None:
            self.transport.pause_reading()
            self._reading_paused = True

    def _request(self) -> Request:
        parser = self._parser
        url = httptools.parse_url(self._url[0] if len(self._url) == 1 else b"".join(self._url))
        raw_path = (url.path or b"/").decode("utf-8", "surrogateescape")
        query = url.query.decode("utf-8", "surrogateescape") if url.query else ""
        headers = self._headers
        assert headers is not None
        body, error = self._whole_body(headers)
        method = parser.get_method().decode("ascii", "replace")
        request = Request(
            method=method,
            path=unquote(raw_path) if "%" in raw_path else raw_path,
            raw_path=raw_path,
            query_string=query,
            headers=headers,
            version=_VERSIONS.get(parser.get_http_version(), (1, 0)),
            body=body,
            body_error=error,
            keep_alive=parser.should_keep_alive(),
            connection=self,
            app=self.server.app,
        )
        return request

    def _whole_body(self, headers: CIMultiDictProxy[str]) -> tuple[bytes, GatewayError | None]:
        max_body = self.server.max_body
        if self._too_large:
            return b"", body_too_large(max_body)
        chunks = self._body
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        encoding = headers.get("Content-Encoding")
        if encoding is None or not body:
            return body, None
        return decoded_body(body, encoding, max_body)

    def _unreadable(self, exc: Exception) -> None:
        """Answer a request that cannot be parsed with a JSON 400, after anything before it, and close."""
        log.debug("unreadable HTTP request: %s", exc, exc_info=exc)
        # The parser's own message may quote the offending bytes (a header may hold a key): its first
        # clause says enough.
        what = str(exc).split(":", 1)[0].strip() or "malformed request"
        self._closing = True
        self._enqueue(_Refusal(unreadable_error(what), self._shape_so_far()))

    def _shape_so_far(self) -> ErrorShape:
        """The API whose error shape answers an unreadable request: from its path, as far as it was read
        (joined first: the network may split ``/messages`` between two pieces)."""
        return _shape_of(b"".join(self._url).decode("latin-1"))

    # -- answering

    async def _serve(self) -> None:
        try:
            while self._queue:
                item = self._queue.popleft()
                if self._reading_paused and not self._closing and len(self._queue) < QUEUED_MAX // 2:
                    assert self.transport is not None
                    self.transport.resume_reading()
                    self._reading_paused = False
                if isinstance(item, _Refusal):
                    self._respond_error(item.error, item.shape, None)
                    self.close()
                    return
                if not await self._answer(item) or (self._closing and not self._queue):
                    self.close()
                    return
        except Exception:  # a bug here, not in a handler: this connection cannot be trusted further
            log.exception("unexpected error serving a connection")
            self.close()
        finally:
            self._task = None
            self.idle_since = self.server.loop.time()
            if self.lost:
                self.server.connections.discard(self)

    async def _answer(self, request: Request) -> bool:
        """Run the request's handler and send what it returns; whether the connection may be reused."""
        self._answered = False
        self._chunked = True
        shape = _shape_of(request.path)
        try:
            handler, match_info = self.server.router.resolve(request.method, routed_path(request.raw_path))
        except GatewayError as error:  # no such route, or not for this method
            self._respond_error(error, shape, request)
            return request.keep_alive
        if match_info:  # an encoded slash stayed encoded for routing; a variable holds it decoded
            request.match_info = {name: value.replace("%2F", "/") for name, value in match_info.items()}
        try:
            response = await handler(request)
            if response is not None:
                self.respond(request, response.status, response.headers, response.body)
        except Exception:
            if self._answered:  # part of an answer went out: no error can follow it
                log.exception(
                    "unexpected error on %s %s after its answer began", request.method, request.path
                )
                return False
            log.exception("unexpected error on %s %s", request.method, request.path)
            self._respond_error(InternalError(UNEXPECTED), shape, request)
            return request.keep_alive
        return self._answered and request.keep_alive and not self.lost

    def _respond_error(self, error: GatewayError, shape: ErrorShape, request: Request | None) -> None:
        answer = error_response(shape, error)
        if request is None:  # no request to speak of: answer as HTTP/1.1 and close
            self._write(head(answer.status, answer.headers, len(answer.body), False, (1, 1)) + answer.body)
        else:
            self.respond(request, answer.status, answer.headers, answer.body)

    def respond(self, request: Request, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """A whole answer, sent now."""
        lead = head(status, headers, len(body), request.keep_alive, request.version)
        self._answered = True  # after the head is built: a header it refuses leaves room for a 500
        self._write(lead if request.method == "HEAD" else lead + body)

    def start(self, request: Request, status: int, headers: Mapping[str, str]) -> None:
        """The head of a streamed answer: chunked on HTTP/1.1, read to the close on HTTP/1.0."""
        chunked = request.version >= (1, 1)
        keep = request.keep_alive and chunked
        lead = head(status, headers, None if chunked else -1, keep, request.version)
        self._answered, self._chunked = True, chunked
        self._write(lead)
        if not self._chunked:
            request.keep_alive = False

    async def write(self, data: bytes) -> None:
        """Part of a streamed answer; waits while the caller's side is full. ``ConnectionResetError``
        once the caller has gone."""
        if self.lost:
            raise ConnectionResetError("the caller has gone")
        self._write(b"%x\r\n%b\r\n" % (len(data), data) if self._chunked else data)
        while self._writing_paused and not self.lost:
            self._writable = self.server.loop.create_future()
            await self._writable
        if self.lost:
            raise ConnectionResetError("the caller has gone")

    def end(self) -> None:
        if self.lost:
            raise ConnectionResetError("the caller has gone")
        if self._chunked:
            self._write(b"0\r\n\r\n")

    def gone(self) -> bool:
        return self.lost or self.transport is None or self.transport.is_closing()

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.lost:
            self.transport.write(data)

    def _wake_writer(self) -> None:
        waiter, self._writable = self._writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- closing

    def close(self) -> None:
        """Close once what is written has gone out."""
        self._closing = True
        if self.transport is not None:
            self.transport.close()

    def close_when_done(self) -> None:
        """At shutdown: an idle connection closes now, a busy one after its current answer."""
        self._closing = True
        if self._task is None:
            self.close()

    @property
    def idle(self) -> bool:
        return self._task is None and not self._queue and self._head_left is None and not self._url

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task


class HttpServer:
    """The protocol factory ``TCPSite`` binds, and what the runner's shutdown asks of connections."""

    def __init__(self, app: web.Application, router: Router, max_body: int) -> None:
        self.app = app
        self.router = router
        self.max_body = max_body
        self.loop = asyncio.get_running_loop()
        self.connections: set[Connection] = set()
        self._sweeper: asyncio.TimerHandle | None = None

    def __call__(self) -> Connection:
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(KEEPALIVE / 5, self._sweep)
        return Connection(self)

    def _sweep(self) -> None:
        """Close keep-alive connections idle for longer than ``KEEPALIVE``."""
        limit = self.loop.time() - KEEPALIVE
        for conn in [c for c in self.connections if c.idle and c.idle_since < limit]:
            conn.close()
        self._sweeper = self.loop.call_later(KEEPALIVE / 5, self._sweep) if self.connections else None

    def pre_shutdown(self) -> None:
        for conn in list(self.connections):
            conn.close_when_done()

    async def shutdown(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 (the runner calls it so)
        """Wait up to ``timeout`` for answers under way, then cancel what is left and close."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        tasks = [conn.task for conn in self.connections if conn.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=timeout)
        for conn in list(self.connections):
            conn.close()
        self.connections.clear()

"""A lean HTTP/1.1 client for the providers: keep-alive connections pooled by origin, answers parsed
by llhttp (``httptools``), the body handed over as it arrives.

Why not aiohttp's ``ClientSession``: olga makes one upstream request per call, and the session's
general machinery (request and response objects, tracing hooks, cookie and proxy handling, a stream
reader, timers) cost 79-138 µs of CPU per request, against 19-32 µs for this, measured on one core
at concurrency 16 against nginx (``bench/client_cost.py``; bench/README.md, "The seventh session"). olga needs none of that
machinery: no redirects are followed, no cookies kept, no proxy used, and its own timers bound
every wait.

What it does do, as a provider needs: TLS with the system's trust store, ``Content-Length``, chunked
and read-until-close bodies, gzip and deflate, reading paused while a slow caller lets the buffer
fill, and one retry on a fresh connection when a pooled one turns out closed by the provider before
it answered (the request never reached it).
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections import deque
from collections.abc import Mapping
from typing import cast

import httptools
import yarl
from multidict import CIMultiDict, CIMultiDictProxy

from olga_cli.codings import Decoder
from olga_cli.errors import ConnectFailed, ConnectTimedOut, Disconnected, LinkError

KEEP_IDLE = 15.0  # seconds a pooled connection may sit unused before it is closed rather than reused
HIGH_WATER = 1024 * 1024  # bytes buffered for a slow reader before the connection stops reading


class _Stale(Disconnected):
    """A pooled connection closed before any byte of the answer: the provider never read the request."""


class Response:
    """A provider's answer: status and headers at once, the body as it arrives (``readany``)."""

    __slots__ = ("_chunks", "_conn", "_decoder", "_ended", "_error", "_size", "_waiter", "headers", "status")

    def __init__(self, conn: _Connection, status: int, headers: CIMultiDictProxy[str]) -> None:
        self.status = status
        self.headers = headers
        self._conn: _Connection | None = conn
        self._chunks: deque[bytes] = deque()  # as received: still compressed, when it was
        self._size = 0
        self._ended = False
        self._error: LinkError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._decoder = Decoder.of(headers.get("Content-Encoding", ""))

    async def readany(self) -> bytes:
        """The bytes buffered so far, waiting for some if none are; b"" once the body has ended."""
        while (data := self.read_nowait()) is None:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return data

    def read_nowait(self) -> bytes | None:
        """What ``readany`` would answer without waiting; None when it would have to wait. A broken
        connection raises only once what arrived before the break has been read.

        A compressed body is decompressed here, at most ``PIECE`` bytes a call, rather than as it
        arrives: 64 KB of gzip can hold 64 MB, and the reader's limits should see it a piece at a time
        instead of the loop stopping while all of it is inflated."""
        while self._chunks or (self._decoder is not None and self._decoder.pending):
            data = self._take()
            if data:
                return data
        if self._error is not None:
            raise self._error
        if self._ended:
            return self._decoder.flush() if self._decoder is not None else b""
        return None

    def _take(self) -> bytes:
        chunks = self._chunks
        data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._size = 0
        if self._conn is not None and self._conn.paused:
            self._conn.resume()
        if self._decoder is None:
            return data
        try:
            return self._decoder.decompress(data)
        except zlib.error as exc:
            error = Disconnected(f"the provider's compressed body is corrupt: {exc}")
            self._fail(error)
            raise error from None

    def close(self) -> None:
        """Stop reading. Before the body's end the connection is dropped, which is how a provider
        learns that nobody wants the rest of its answer."""
        conn, self._conn = self._conn, None
        if conn is not None and not self._ended:
            conn.abort()
        self._ended = True
        self._chunks.clear()
        self._decoder = None

    # -- fed by the connection ---------------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        if self._ended:
            return
        self._chunks.append(data)
        self._size += len(data)
        if self._size > HIGH_WATER and self._conn is not None:
            self._conn.pause()
        self._wake()

    def _end(self) -> None:
        self._ended = True
        self._conn = None  # the connection is free again, or gone: closing this no longer drops it
        self._wake()

    def _fail(self, error: LinkError) -> None:
        if self._ended:
            return
        self._error = error
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.abort()
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer parsed as the bytes arrive."""

    def __init__(self, pool: Client, origin: tuple[str, str, int]) -> None:
        self.pool, self.origin = pool, origin
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.reused = False
        self.paused = False
        self.idle_since = 0.0
        self._headers: list[tuple[str, str]] = []
        self._head: asyncio.Future[Response] | None = None  # set while a request waits for its answer
        self._response: Response | None = None  # the answer whose body is arriving
        self._got_bytes = False
        self._interim = False
        self._keep = False

    # -- asyncio ---------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport, though not always a subclass of asyncio.Transport (uvloop's is not).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._broken(Disconnected(f"the provider's answer is not valid HTTP: {exc}"))
        except httptools.HttpParserUpgrade:
            self._broken(Disconnected("the provider switched protocols, which olga never asks for"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.pool._forget(self)
        response = self._response
        if response is not None and exc is None and not _framed(response):
            self._response = None
            response._end()  # a body that runs until the connection closes, and it did
            return
        reason = f": {exc}" if exc else ""
        if self._head is not None and not self._got_bytes and self.reused:
            self._broken(_Stale(f"the pooled connection was closed by the provider{reason}"))
        else:
            self._broken(Disconnected(f"the connection closed before the end of the answer{reason}"))

    # -- the parser's callbacks -------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("utf-8", "surrogateescape")))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        headers, self._headers = self._headers, []
        if status < 200:
            self._interim = True  # "100 Continue" and the like: the real answer follows
            return
        self._keep = self.parser.should_keep_alive()  # asked while the answer's flags are its own
        head, self._head = self._head, None
        if head is None or head.done():
            self.abort()  # an answer nobody asked for, or whose caller stopped waiting
            return
        self._response = Response(self, status, CIMultiDictProxy(CIMultiDict(headers)))
        head.set_result(self._response)

    def on_body(self, body: bytes) -> None:
        if self._response is not None:
            self._response._feed(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        response, self._response = self._response, None
        if response is not None:
            response._end()
        if self._keep and self.transport is not None:
            self.resume()  # paused for a slow reader: the answer is all in, the next one must arrive
            self.pool._release(self)
        else:
            self.close()

    # -- used by the client and the response --------------------------------------------------------

    def send(self, head: bytes, body: bytes | None) -> asyncio.Future[Response]:
        assert self.transport is not None
        self._got_bytes = False
        self._head = asyncio.get_running_loop().create_future()
        if body and len(body) >= 16384:
            self.transport.write(head)
            self.transport.write(body)  # a large body is not copied to join it to the head
        else:
            self.transport.write(head + body if body else head)
        return self._head

    def usable(self, now: float) -> bool:
        transport = self.transport
        return transport is not None and not transport.is_closing() and now - self.idle_since < KEEP_IDLE

    def pause(self) -> None:
        if not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection: it is in the middle of an answer, so it can serve nobody else."""
        self.pool._forget(self)
        if self.transport is not None:
            self.transport.abort()

    def _broken(self, error: LinkError) -> None:
        head, self._head = self._head, None
        if head is not None and not head.done():
            head.set_exception(error)
        response, self._response = self._response, None
        if response is not None:
            response._fail(error)
        self.abort()


def _framed(response: Response) -> bool:
    """Whether the body's end is told by its length or its chunks, rather than by the close."""
    headers = response.headers
    return "Content-Length" in headers or "chunked" in headers.get("Transfer-Encoding", "").lower()


class Client:
    """Pools of keep-alive connections, one per origin (scheme, host, port); closed once, at shutdown."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._all: set[_Connection] = set()
        self._ssl = tls  # the system's trust store unless given one; made on the first https request
        self._sweep: asyncio.TimerHandle | None = None

    async def request(
        self,
        method: str,
        url: yarl.URL,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        connect_timeout: float,
    ) -> Response:
        """Send a request; the answer once its status and headers are in. A cancellation while
        waiting drops the connection, so the provider sees the request abandoned."""
        origin = _origin(url)
        head = _head(method, url, headers, body)
        for attempt in (1, 2):
            conn = await self._checkout(origin, connect_timeout)
            try:
                return await conn.send(head, body)
            except _Stale:
                if attempt == 2:
                    raise
            except BaseException:
                conn.abort()
                raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        for conn in list(self._all):
            conn.close()
        self._all.clear()
        self._idle.clear()
        await asyncio.sleep(0)  # the transports' close callbacks run before the loop stops

    async def _checkout(self, origin: tuple[str, str, int], connect_timeout: float) -> _Connection:
        idle = self._idle.get(origin)
        if idle:
            now = asyncio.get_running_loop().time()
            while idle:
                conn = idle.pop()  # the most recently used: the likeliest to be still open
                if conn.usable(now):
                    conn.reused = True
                    return conn
                conn.close()
        return await self._connect(origin, connect_timeout)

    async def _connect(self, origin: tuple[str, str, int], seconds: float) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls = self._tls() if scheme == "https" else None
        # A host's addresses are tried one after another: asyncio's happy eyeballs (Python 3.11) leaks
        # the connected socket when the wait is cancelled, as it is when a caller leaves.
        try:
            async with asyncio.timeout(seconds):
                _, conn = await loop.create_connection(
                    lambda: _Connection(self, origin),
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls is not None else None,
                )
        except TimeoutError:
            raise ConnectTimedOut(f"connecting to {host}:{port} took longer than {seconds:g}s") from None
        except (OSError, ssl.SSLError) as exc:
            raise ConnectFailed(f"cannot connect to {host}:{port}: {exc}") from None
        self._all.add(conn)
        return conn

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()  # once: loading the trust store takes milliseconds
        return self._ssl

    def _release(self, conn: _Connection) -> None:
        loop = asyncio.get_running_loop()
        conn.idle_since = loop.time()
        self._idle.setdefault(conn.origin, []).append(conn)
        if self._sweep is None:
            self._sweep = loop.call_later(KEEP_IDLE, self._close_expired)

    def _close_expired(self) -> None:
        """Close the connections unused for ``KEEP_IDLE``: a provider's quiet hours hold no sockets."""
        self._sweep = None
        now = asyncio.get_running_loop().time()
        for idle in list(self._idle.values()):
            for conn in [c for c in idle if not c.usable(now)]:
                conn.close()
                if conn in idle:
                    idle.remove(conn)
        if any(self._idle.values()):
            self._sweep = asyncio.get_running_loop().call_later(KEEP_IDLE / 2, self._close_expired)

    def _forget(self, conn: _Connection) -> None:
        self._all.discard(conn)
        idle = self._idle.get(conn.origin)
        if idle and conn in idle:
            idle.remove(conn)


def _origin(url: yarl.URL) -> tuple[str, str, int]:
    scheme = url.scheme
    if scheme not in ("http", "https") or not url.raw_host or url.port is None:
        raise ConnectFailed(f"cannot send to {url}: only http:// and https:// URLs with a host are supported")
    return scheme, url.raw_host, url.port


def _head(method: str, url: yarl.URL, headers: Mapping[str, str], body: bytes | None) -> bytes:
    """The request line and headers, ``Host`` and ``Content-Length`` added."""
    lines = [f"{method} {url.raw_path_qs} HTTP/1.1\r\nHost: {url.host_port_subcomponent}\r\n"]
    for name, value in headers.items():
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name or ":" in name:
            raise ConnectFailed(f"refusing to send the header {name!r}: it holds a line break or a colon")
        lines.append(f"{name}: {value}\r\n")
    if body is not None or method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
        lines.append(f"Content-Length: {len(body) if body else 0}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("utf-8")

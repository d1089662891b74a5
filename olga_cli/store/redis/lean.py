"""Lua scripts on Redis without redis-py, for team mode's hot path: one connection, calls pipelined.

redis-py 8 spends 190-380 µs of CPU on each command (its pool's bookkeeping, observability
attributes, a task per command), and a request with Redis runs one or two scripts before its upstream
call. This speaks RESP2 itself on one connection: a call is written as it comes and replies are read in
order, so concurrent requests share the connection without waiting for each other's round trips.
Anything wrong (a refused connection, a connection lost, no reply within ``timeout``) closes the
connection and fails every call on it with an ``OSError``, which ``Link`` takes for Redis being down;
the next call connects again. A server that lost its scripts (restarted, flushed) gets the script's
text once (``EVAL``, which caches it again). Only plain ``redis://`` URLs: TLS and sockets stay with
redis-py (``Link`` decides).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.exceptions import ResponseError

_INCOMPLETE = object()


def usable(url: str) -> bool:
    """Whether this client can speak to ``url`` (plain TCP, no TLS, no unix socket)."""
    parts = urlsplit(url)
    return parts.scheme == "redis" and bool(parts.hostname) and not parts.query


def _encode(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, float):
        return repr(value).encode()
    return str(value).encode()


def pack(*args: Any) -> bytes:
    """One command in RESP: an array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = _encode(arg)
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def parse(buf: bytearray, pos: int) -> tuple[Any, int]:
    """One reply from ``buf`` at ``pos``: (value, where the next begins), or (_INCOMPLETE, pos).
    Bulk and simple strings come back as str, errors as ``ResponseError`` values."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return _INCOMPLETE, pos
    kind, line, after = buf[pos], bytes(buf[pos + 1 : end]), end + 2
    if kind == 0x2B:  # +
        return line.decode(), after
    if kind == 0x2D:  # -
        return ResponseError(line.decode()), after
    if kind == 0x3A:  # :
        return int(line), after
    if kind == 0x24:  # $
        size = int(line)
        if size < 0:
            return None, after
        if len(buf) < after + size + 2:
            return _INCOMPLETE, pos
        return bytes(buf[after : after + size]).decode(), after + size + 2
    if kind == 0x2A:  # *
        count = int(line)
        if count < 0:
            return None, after
        items = []
        for _ in range(count):
            item, after = parse(buf, after)
            if item is _INCOMPLETE:
                return _INCOMPLETE, pos
            items.append(item)
        return items, after
    raise ConnectionError(f"Redis sent a reply olga cannot read ({bytes(buf[pos : pos + 20])!r})")


class _Replies(asyncio.Protocol):
    """The connection: each call's future waits, in order, for its reply."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.buffer = bytearray()
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        pos = 0
        try:
            while self.waiting:
                value, after = parse(self.buffer, pos)
                if value is _INCOMPLETE:
                    break
                pos = after
                future = self.waiting.popleft()
                if future.done():
                    continue  # its caller was cancelled: the reply is read and dropped
                if isinstance(value, ResponseError):
                    future.set_exception(value)
                else:
                    future.set_result(value)
        except (ValueError, ConnectionError) as exc:
            self.fail(ConnectionError(f"Redis's reply could not be read ({exc})"))
            return
        del self.buffer[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(ConnectionError(f"Redis closed the connection ({exc or 'end of stream'})"))

    def fail(self, error: OSError) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(error)

    def send(self, command: bytes) -> asyncio.Future[Any]:
        assert self.transport is not None
        future = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        self.transport.write(command)
        return future


class LeanScripts:
    """``run(lua, keys, args)`` for one Redis server, on one pipelined connection."""

    def __init__(self, url: str, *, timeout: float) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 6379
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._db = int(parts.path.strip("/") or 0)
        self._timeout = timeout
        self._conn: _Replies | None = None
        self._connecting: asyncio.Task[_Replies] | None = None
        self._hashes: dict[str, str] = {}

    async def run(self, lua: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        sha = self._hashes.get(lua)
        if sha is None:
            sha = self._hashes[lua] = hashlib.sha1(lua.encode()).hexdigest()
        try:
            return await self._call(pack("EVALSHA", sha, len(keys), *keys, *args))
        except ResponseError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        return await self._call(pack("EVAL", lua, len(keys), *keys, *args))

    async def _call(self, command: bytes) -> Any:
        try:
            async with asyncio.timeout(self._timeout):
                conn = self._conn if self._conn is not None and not self._conn.lost else await self._connect()
                return await conn.send(command)
        except TimeoutError:
            if self._conn is not None:  # its replies can no longer be matched to their calls
                self._conn.fail(ConnectionError("Redis did not answer in time"))
            raise

    async def _connect(self) -> _Replies:
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._open())
            self._connecting.add_done_callback(self._opened)
        return await asyncio.shield(self._connecting)

    def _opened(self, task: asyncio.Task[_Replies]) -> None:
        self._connecting = None
        if not task.cancelled() and task.exception() is None:
            self._conn = task.result()

    async def _open(self) -> _Replies:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_Replies, self._host, self._port)
        try:
            if self._password is not None:
                auth = ("AUTH", self._user, self._password) if self._user else ("AUTH", self._password)
                await conn.send(pack(*auth))
            if self._db:
                await conn.send(pack("SELECT", self._db))
        except BaseException:
            conn.fail(ConnectionError("Redis refused olga's connection set-up"))
            raise
        return conn

    async def close(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
        if self._conn is not None:
            self._conn.fail(ConnectionError("closed"))
            self._conn = None

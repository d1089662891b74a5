"""A provider that misbehaves on purpose: a real aiohttp server on 127.0.0.1, told per test what to do.

Gzip bombs, endless lines, trickling streams, echoed keys, redirects, malformed bodies: each behaviour
is a small handler. Every one is bounded: compressed bodies are built once and are a few hundred KB,
and streams stop by themselves after ``seconds`` (or when olga hangs up, which is what the tests want).
"""

from __future__ import annotations

import asyncio
import functools
import json
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

Behaviour = Callable[[web.Request], Awaitable[web.StreamResponse]]
MB = 1024 * 1024


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Misbehaving:
    behaviour: Behaviour | None = None
    requests: list[Seen] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> Misbehaving:
        app = web.Application(client_max_size=64 * MB)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(Seen(request.method, request.path, dict(request.headers), body))
        if self.behaviour is None:
            return web.json_response(
                {"error": {"message": "no behaviour set", "type": "server_error"}}, status=500
            )
        return await self.behaviour(request)


# -- whole answers --------------------------------------------------------------------------------


def answer(
    body: bytes, *, status: int = 200, content_type: str = "application/json", **headers: str
) -> Behaviour:
    async def handle(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=body, headers={"Content-Type": content_type, **headers})

    return handle


def redirect(location: str, status: int = 302) -> Behaviour:
    async def handle(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": location})

    return handle


def echo_key(status: int = 400) -> Behaviour:
    """An error that repeats the credentials it was sent, as some providers' error pages do."""

    async def handle(request: web.Request) -> web.StreamResponse:
        presented = request.headers.get("Authorization", "") or request.headers.get("x-api-key", "")
        message = f"Invalid request for credentials {presented!s}; header was 'Authorization: {presented}'"
        error = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
        return web.json_response(error, status=status)

    return handle


@functools.lru_cache(maxsize=8)
def gzipped(prefix: bytes, filler: bytes, size: int, suffix: bytes) -> bytes:
    """``prefix + filler * n + suffix`` of ``size`` bytes, gzipped in pieces (never whole in memory)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(prefix)]
    block = filler * (MB // len(filler))
    left = size - len(prefix) - len(suffix)
    while left > 0:
        piece = block[: min(left, len(block))]
        parts.append(compressor.compress(piece))
        left -= len(piece)
    parts += [compressor.compress(suffix), compressor.flush()]
    return b"".join(parts)


def gzip_bomb(size: int, *, content_type: str = "application/json") -> Behaviour:
    """A small gzipped body that expands to ``size`` bytes: one JSON string, or one SSE ``data:`` line."""
    if content_type == "text/event-stream":
        body = gzipped(b'data: {"pad": "', b"x", size, b'"}')  # no line end: one endless line
    else:
        body = gzipped(b'{"id": "chatcmpl-bomb", "pad": "', b"0", size, b'"}')

    async def handle(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, headers={"Content-Type": content_type, "Content-Encoding": "gzip"})

    return handle


# -- streams --------------------------------------------------------------------------------------


def stream(
    pieces: list[bytes], *, every: float = 0.0, then_every: float | None = None, seconds: float = 10.0
) -> Behaviour:
    """An SSE stream of ``pieces`` (raw bytes, events or not), ``every`` seconds apart; with ``then_every``
    the last piece is repeated at that pace until ``seconds`` have passed (a trickle) or olga hangs up."""

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        try:
            for piece in pieces:
                await response.write(piece)
                if every:
                    await asyncio.sleep(every)
            while then_every is not None and loop.time() < end and pieces:
                await asyncio.sleep(then_every)
                await response.write(pieces[-1])
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # olga hung up: what the tests want
        return response

    return handle


def endless_line(*, chunk: int = 64 * 1024, seconds: float = 10.0) -> Behaviour:
    """``data: xxxx...`` that never ends its line: megabytes a second until olga hangs up (or time is up)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        block = b"x" * chunk
        try:
            await response.write(b'data: {"pad": "')
            while loop.time() < end:
                await response.write(block)
                await asyncio.sleep(0)
        except (ConnectionError, RuntimeError):
            pass
        return response

    return handle


def chat_chunk(content: str, *, index: int = 0) -> bytes:
    chunk = {
        "id": "chatcmpl-m",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": index, "delta": {"content": content}, "finish_reason": None}],
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def stream_quoting_key(
    build: Callable[[str], list[bytes]], *, then: bytes = b"", every: float = 0.05, seconds: float = 5.0
) -> Behaviour:
    """A stream built from the credentials the request presented (``build(presented)``): an error
    event that quotes them, as some providers' do. With ``then``, that piece follows every ``every``
    seconds until ``seconds`` have passed or olga hangs up (a provider that lingers after its error)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        presented = request.headers.get("Authorization", "") or request.headers.get("x-api-key", "")
        pieces = build(presented)
        if then:
            return await stream([*pieces, then], then_every=every, seconds=seconds)(request)
        return await stream(pieces)(request)

    return handle


def sse(data: object, event: str | None = None) -> bytes:
    """One SSE event, ``event:`` line and all."""
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + json.dumps(data).encode() + b"\n\n"

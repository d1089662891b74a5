"""olga's own HTTP/1.1 server (``olga_cli/server/http1.py``), spoken to over real sockets on 127.0.0.1.

The gateway's own routes are tested through it everywhere else; these tests pin the protocol itself:
framing, keep-alive, pipelining, request bodies and their codings, streams and slow readers, errors,
and the graceful stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web

from olga_cli.errors import ClientGone
from olga_cli.server import http1
from olga_cli.server.app_keys import set_routes
from olga_cli.server.request import Request, Response, json_response
from olga_cli.server.router import Router
from olga_cli.server.runner import OlgaRunner
from olga_cli.server.sink import ConnectionSink

MAX_BODY = 64 * 1024


@dataclass
class Served:
    port: int
    runner: web.AppRunner
    seen: list[Request]
    events: dict[str, asyncio.Event]


def _echo(seen: list[Request]):  # type: ignore[no-untyped-def]
    async def echo(request: Request) -> Response:
        seen.append(request)
        error = request.body_error
        return json_response(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "body": request.body.decode("utf-8", "replace"),
                "error": None if error is None else [error.status, error.message],
                "match": request.match_info,
                "version": list(request.version),
            }
        )

    return echo


@contextlib.asynccontextmanager
async def serve(shutdown_timeout: float = 5) -> AsyncIterator[Served]:
    seen: list[Request] = []
    events = {"release": asyncio.Event(), "entered": asyncio.Event(), "gone": asyncio.Event()}
    router = Router()
    echo = _echo(seen)
    router.add("POST", "/echo", echo)
    router.add("GET", "/echo", echo)
    router.add("GET", "/models/{model_id:.+}", echo)

    async def boom(request: Request) -> Response:
        raise RuntimeError("a bug")

    async def slow(request: Request) -> Response:
        events["entered"].set()
        await events["release"].wait()
        return Response(200, {"Content-Type": "text/plain"}, b"finished")

    async def stream(request: Request) -> None:
        sink = ConnectionSink(request)
        await sink.start(200, {"Content-Type": "text/event-stream"})
        size = int(request.query.get("size", "5"))
        count = int(request.query.get("count", "3"))
        try:
            for i in range(count):
                await sink.write(b"%d:" % i + b"x" * size + b"\n")
            await sink.end()
        except ClientGone:
            events["gone"].set()

    async def injected(request: Request) -> Response:
        return Response(200, {"X-Echo": "a\r\nSet-Cookie: stolen=1"}, b"never sent")

    router.add("GET", "/injected", injected)
    router.add("POST", "/v1/messages", boom)
    router.add("POST", "/boom", boom)
    router.add("GET", "/slow", slow)
    router.add("GET", "/stream", stream)
    app = web.Application()
    set_routes(app, router, MAX_BODY)
    runner = OlgaRunner(app, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield Served(runner.addresses[0][1], runner, seen, events)
    finally:
        events["release"].set()
        await runner.cleanup()


async def connect(served: Served) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", served.port)


@contextlib.asynccontextmanager
async def connected() -> AsyncIterator[tuple[Served, asyncio.StreamReader, asyncio.StreamWriter]]:
    """A served app and one connection to it, closed at the end."""
    async with serve() as served:
        reader, writer = await connect(served)
        try:
            yield served, reader, writer
        finally:
            writer.close()


async def read_answer(
    reader: asyncio.StreamReader, head_only: bool = False
) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    status = int(lines[0].split()[1])
    if head_only or status == 100:
        return status, headers, b""
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            size = int((await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)).strip(), 16)
            chunk = await asyncio.wait_for(reader.readexactly(size + 2), 5)
            if size == 0:
                return status, headers, body
            body += chunk[:-2]
    if "content-length" in headers:
        return status, headers, await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 5)
    return status, headers, await asyncio.wait_for(reader.read(), 5)


def post(path: str, body: bytes, *extra: str) -> bytes:
    head = [f"POST {path} HTTP/1.1", "Host: x", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def test_keep_alive_and_pipelined_requests_are_answered_in_order() -> None:
    async with connected() as (_, reader, writer):
        writer.write(
            post("/echo", b"one") + post("/echo?a=1&b=", b"two") + b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        answers = [await read_answer(reader) for _ in range(3)]
        assert [json.loads(body)["body"] for _, _, body in answers] == ["one", "two", ""]
        assert json.loads(answers[1][2])["query"] == {"a": "1", "b": ""}
        assert all(status == 200 and "connection" not in headers for status, headers, _ in answers)
        assert answers[0][1]["content-type"].startswith("application/json") and "date" in answers[0][1]
        writer.write(post("/echo", b"three"))  # the same connection, still open
        assert json.loads((await read_answer(reader))[2])["body"] == "three"


async def test_http_1_0_closes_unless_asked_to_keep_alive() -> None:
    async with connected() as (served, reader, writer):
        writer.write(b"GET /echo HTTP/1.0\r\n\r\n")
        status, headers, body = await read_answer(reader)
        assert status == 200 and headers["connection"] == "close" and json.loads(body)["version"] == [1, 0]
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by olga
        reader, writer = await connect(served)
        writer.write(b"GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" * 2)
        for _ in range(2):
            status, headers, _ = await read_answer(reader)
            assert status == 200 and headers["connection"] == "keep-alive"


async def test_a_request_asking_to_close_is_answered_then_closed() -> None:
    async with connected() as (_, reader, writer):
        writer.write(b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, headers, _ = await read_answer(reader)
        assert status == 200 and headers["connection"] == "close"
        assert await asyncio.wait_for(reader.read(), 5) == b""


async def test_head_answers_a_get_route_without_its_body() -> None:
    async with connected() as (_, reader, writer):
        writer.write(b"HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\n" + b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, _ = await read_answer(reader, head_only=True)
        assert status == 200 and int(headers["content-length"]) > 0
        # Had the HEAD answer carried a body, this would read it as the next answer's status line.
        status, _, body = await read_answer(reader)
        assert status == 200 and json.loads(body)["method"] == "GET"


async def test_expect_100_continue_is_answered_before_the_body_is_sent() -> None:
    async with connected() as (_, reader, writer):
        writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        status, _, _ = await read_answer(reader)
        assert status == 100
        writer.write(b"hello")
        status, _, body = await read_answer(reader)
        assert status == 200 and json.loads(body)["body"] == "hello"


async def test_a_chunked_request_body_is_read_whole() -> None:
    async with connected() as (_, reader, writer):
        chunks = b"5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n"
        writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
        assert json.loads((await read_answer(reader))[2])["body"] == "hello world"


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw, as some clients send it
    ],
)
async def test_a_compressed_body_is_decoded(coding: str, encode) -> None:  # type: ignore[no-untyped-def]
    text = b'{"messages": "' + b"long context " * 2000 + b'"}'
    async with connected() as (_, reader, writer):
        writer.write(post("/echo", encode(text), f"Content-Encoding: {coding}"))
        answer = json.loads((await read_answer(reader))[2])
        assert answer["body"] == text.decode() and answer["error"] is None


@pytest.mark.parametrize(
    ("body", "extra", "status", "words"),
    [
        (b"x" * (MAX_BODY + 1), "X-A: b", 413, "larger than"),
        (gzip.compress(b"0" * (MAX_BODY * 50)), "Content-Encoding: gzip", 413, "larger than"),  # a small bomb
        (b'{"plain": "json"}', "Content-Encoding: gzip", 400, "could not be read"),
        (b"\x00\x01", "Content-Encoding: br", 400, "not supported"),
    ],
    ids=["too large", "too large once decoded", "not what its coding says", "an unsupported coding"],
)
async def test_a_body_that_cannot_be_used_reaches_the_handler_as_an_error(
    body: bytes, extra: str, status: int, words: str
) -> None:
    """The handler answers it (after authentication, in the gateway), and the connection stays usable."""
    async with connected() as (_, reader, writer):
        writer.write(post("/echo", body, extra))
        answer = json.loads((await read_answer(reader))[2])
        assert answer["body"] == "" and answer["error"][0] == status and words in answer["error"][1]
        writer.write(post("/echo", b"next"))
        assert json.loads((await read_answer(reader))[2])["body"] == "next"


async def test_routes_missing_or_not_for_the_method_are_json_errors_in_the_route_shape() -> None:
    async with connected() as (_, reader, writer):
        writer.write(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n" + post("/slow", b""))
        status, _, body = await read_answer(reader)
        assert status == 404 and "No route GET /nowhere" in json.loads(body)["error"]["message"]
        status, _, body = await read_answer(reader)
        assert status == 405 and "use GET, HEAD" in json.loads(body)["error"]["message"]


async def test_a_handler_bug_is_a_json_500_and_the_connection_serves_on() -> None:
    async with connected() as (_, reader, writer):
        writer.write(post("/boom", b"{}") + post("/v1/messages", b"{}") + post("/echo", b"after"))
        status, _, body = await read_answer(reader)
        assert status == 500 and set(json.loads(body)["error"]) == {"message", "type", "param", "code"}
        status, _, body = await read_answer(reader)
        assert status == 500 and json.loads(body)["type"] == "error"  # Anthropic's shape on /messages
        assert json.loads((await read_answer(reader))[2])["body"] == "after"


async def test_an_encoded_slash_stays_inside_its_path_segment() -> None:
    async with connected() as (_, reader, writer):
        writer.write(b"GET /models/openai%2Fgpt-4o%20mini HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = json.loads((await read_answer(reader))[2])
        assert (
            answer["match"] == {"model_id": "openai/gpt-4o mini"}
            and answer["path"] == "/models/openai/gpt-4o mini"
        )


async def test_a_stream_is_chunked_and_the_connection_reused_after_it() -> None:
    async with connected() as (_, reader, writer):
        writer.write(
            b"GET /stream?count=4 HTTP/1.1\r\nHost: x\r\n\r\n" + b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        status, headers, body = await read_answer(reader)
        assert status == 200 and headers["transfer-encoding"] == "chunked" and "content-length" not in headers
        assert body == b"".join(b"%d:xxxxx\n" % i for i in range(4))
        assert (await read_answer(reader))[0] == 200


async def test_a_stream_to_an_http_1_0_caller_is_read_to_the_close() -> None:
    async with connected() as (_, reader, writer):
        writer.write(b"GET /stream?count=2 HTTP/1.0\r\n\r\n")
        status, headers, body = await read_answer(reader)
        assert status == 200 and "transfer-encoding" not in headers and headers["connection"] == "close"
        assert body == b"0:xxxxx\n1:xxxxx\n"


async def test_a_slow_reader_holds_the_stream_back_instead_of_filling_memory() -> None:
    """200 MB asked for by a caller who reads nothing: the writer waits once the socket is full."""
    async with serve() as served:
        _, writer = await connect(served)
        writer.write(b"GET /stream?size=1048576&count=200 HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.sleep(0.5)
        (conn,) = served.runner.server.connections  # type: ignore[union-attr]
        assert conn.transport.get_write_buffer_size() < 8 * 1024 * 1024  # the stream waits, not buffers
        writer.close()
        await asyncio.wait_for(served.events["gone"].wait(), 5)  # and learns the caller has gone


async def test_unreadable_http_is_a_json_400_then_the_connection_closes() -> None:
    async with connected() as (_, reader, writer):
        writer.write(post("/echo", b"first") + b"POST /v1/messages HTTP/1.1\r\nX-A: a\x00b\r\n\r\n")
        assert json.loads((await read_answer(reader))[2])["body"] == "first"  # what came before is answered
        status, headers, body = await read_answer(reader)
        error = json.loads(body)
        assert status == 400 and headers["connection"] == "close" and error["type"] == "error"
        assert "olga could not read this HTTP request" in error["error"]["message"]
        assert await asyncio.wait_for(reader.read(), 5) == b""


async def test_a_header_section_without_end_is_refused_before_it_fills_memory() -> None:
    async with connected() as (_, reader, writer):
        writer.write(b"GET /echo HTTP/1.1\r\n")
        line = b"X-Filler: " + b"f" * 1000 + b"\r\n"
        with contextlib.suppress(ConnectionError):
            for _ in range(5000):  # 5 MB of headers, more than 128 lines of 32 KB could hold
                writer.write(line)
                await writer.drain()
        # Without the limit the server would keep reading and wait for the end of the headers. With
        # it, the connection ends: with a 400, or reset when the caller was still sending as it closed.
        try:
            status, _, body = await read_answer(reader)
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        assert status == 400 and b"f" * 100 not in body


async def test_shutdown_lets_an_answer_under_way_finish_and_closes_idle_connections() -> None:
    async with serve() as served:
        idle_reader, _ = await connect(served)
        writer = await connect(served)
        busy_reader, busy_writer = writer
        busy_writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.wait_for(served.events["entered"].wait(), 5)
        stopping = asyncio.create_task(served.runner.cleanup())
        assert await asyncio.wait_for(idle_reader.read(), 5) == b""  # the idle one, closed at once
        served.events["release"].set()
        status, _, body = await read_answer(busy_reader)
        assert status == 200 and body == b"finished"
        await asyncio.wait_for(stopping, 5)


async def test_idle_keep_alive_connections_are_closed_after_the_keepalive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http1, "KEEPALIVE", 0.5)
    async with connected() as (_, reader, writer):
        writer.write(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await read_answer(reader))[0] == 200
        assert await asyncio.wait_for(reader.read(), 5) == b""


async def test_a_header_value_with_a_line_break_is_never_written() -> None:
    """A value holding CR LF would start a header of its own (response splitting): a 500 instead."""
    async with connected() as (_, reader, writer):
        writer.write(b"GET /injected HTTP/1.1\r\nHost: x\r\n\r\n" + post("/echo", b"after"))
        status, headers, body = await read_answer(reader)
        assert status == 500 and "set-cookie" not in headers and b"never sent" not in body
        assert json.loads((await read_answer(reader))[2])["body"] == "after"


async def test_an_upgrade_is_answered_as_a_plain_request_then_the_connection_closes() -> None:
    async with connected() as (_, reader, writer):
        writer.write(
            b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x85"
        )
        status, headers, _ = await read_answer(reader)
        assert status == 200 and headers["connection"] == "close"
        assert await asyncio.wait_for(reader.read(), 5) == b""

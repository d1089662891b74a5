"""olga's HTTP/1.1 client for providers, against real servers on 127.0.0.1: aiohttp's where a server
behaves, raw sockets where the test needs one that misbehaves in a precise way."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gzip
import ipaddress
import ssl
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import yarl
from aiohttp import web

from olga_cli import codings
from olga_cli.errors import ConnectFailed, ConnectTimedOut, Disconnected
from olga_cli.gateway.upstream import http1

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    """An aiohttp server that counts the connections its requests came on."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.runner = web.AppRunner(app)

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> str:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        port = self.runner.addresses[0][1]
        return f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"


@pytest.fixture
async def client() -> AsyncIterator[http1.Client]:
    c = http1.Client()
    yield c
    await c.close()


async def serve(app: web.Application, ssl_context: ssl.SSLContext | None = None) -> tuple[Server, str]:
    server = Server(app)
    return server, await server.start(ssl_context)


async def raw_server(handler: Handler) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    return head + await reader.readexactly(length)


def replying(answer: bytes, *, then_close: bool = False) -> Handler:
    """A raw server's handler: read the request, send ``answer``, then close, or wait for olga to."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer)
        await writer.drain()
        if then_close:
            writer.close()
        else:
            await reader.read()

    return handler


async def read_all(response: http1.Response) -> bytes:
    parts = []
    while chunk := await response.readany():
        parts.append(chunk)
    return b"".join(parts)


async def post(client: http1.Client, url: str, body: bytes = b"{}", **headers: str) -> http1.Response:
    return await client.request(
        "POST", yarl.URL(url), {"Content-Type": "application/json", **headers}, body, connect_timeout=5
    )


async def test_requests_one_after_another_share_one_connection(client: http1.Client) -> None:
    peers: list[object] = []

    async def echo(request: web.Request) -> web.Response:
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"got": (await request.read()).decode(), "host": request.host})

    app = web.Application()
    app.router.add_post("/v1/chat", echo)
    server, base = await serve(app)
    try:
        for n in range(5):
            response = await post(client, base + "/v1/chat?x=1", f'{{"n":{n}}}'.encode())
            assert response.status == 200
            assert response.headers["content-type"].startswith("application/json")  # any case
            assert await read_all(response) == f'{{"got": "{{\\"n\\":{n}}}", "host": "{base[7:]}"}}'.encode()
        assert len(peers) == 5 and len(set(peers)) == 1
    finally:
        await server.runner.cleanup()


async def test_a_chunked_stream_is_handed_over_as_it_arrives(client: http1.Client) -> None:
    more = asyncio.Event()

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: one\n\n")
        await more.wait()
        await response.write(b"data: two\n\n")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/s", stream)
    server, base = await serve(app)
    try:
        response = await post(client, base + "/s")
        assert await asyncio.wait_for(response.readany(), 5) == b"data: one\n\n"  # before the rest exists
        more.set()
        assert await read_all(response) == b"data: two\n\n"
    finally:
        await server.runner.cleanup()


@pytest.mark.parametrize(
    "encoding, pack",
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),  # as the standard says: zlib-wrapped
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw, as some servers send it
    ],
)
async def test_compressed_bodies_are_decompressed(
    client: http1.Client, encoding: str, pack: Callable[[bytes], bytes]
) -> None:
    text = b'{"choices": []}' * 1000

    async def packed(request: web.Request) -> web.Response:
        return web.Response(body=pack(text), headers={"Content-Encoding": encoding})

    app = web.Application()
    app.router.add_post("/z", packed)
    server, base = await serve(app)
    try:
        assert await read_all(await post(client, base + "/z")) == text
        assert await read_all(await post(client, base + "/z")) == text  # and the connection is reused fine
    finally:
        await server.runner.cleanup()


async def test_a_gzip_bomb_comes_out_a_piece_at_a_time(client: http1.Client) -> None:
    bomb = gzip.compress(b"a" * (16 * 1024 * 1024))
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb)
    server, base = await raw_server(replying(head + bomb))
    try:
        response = await post(client, base)
        sizes = []
        while chunk := await response.readany():
            sizes.append(len(chunk))
        assert sum(sizes) == 16 * 1024 * 1024 and max(sizes) <= codings.PIECE
    finally:
        server.close()


async def test_a_body_that_runs_to_the_close_ends_with_it(client: http1.Client) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nall of it"
    server, base = await raw_server(replying(answer, then_close=True))
    try:
        assert await read_all(await post(client, base)) == b"all of it"
    finally:
        server.close()


async def test_a_connection_cut_mid_body_hands_over_what_came_then_raises(client: http1.Client) -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf an ans")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()

    server, base = await raw_server(cut)
    try:
        response = await post(client, base)
        await asyncio.sleep(0.2)  # the cut arrives before the reader looks
        assert await response.readany() == b"half an ans"
        with pytest.raises(Disconnected, match="before the end of the answer"):
            await response.readany()
    finally:
        server.close()


async def test_a_pooled_connection_the_provider_closed_is_replaced_without_failing(
    client: http1.Client,
) -> None:
    connections = 0

    async def one_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        # Says keep-alive, then closes as the request is on its way: the race every pool meets when
        # a provider's idle timeout ends a connection.
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader.read(1), 0.2)
        writer.transport.abort()

    server, base = await raw_server(one_then_close)
    try:
        assert await read_all(await post(client, base)) == b"ok"
        await asyncio.sleep(0.01)  # the connection is back in the pool, still open
        assert await read_all(await post(client, base)) == b"ok"
        assert connections == 2
    finally:
        server.close()


async def test_an_answer_left_before_its_end_drops_the_connection(client: http1.Client) -> None:
    gone = asyncio.Event()
    peers: set[object] = set()

    async def endless(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        peers.add(request.transport.get_extra_info("peername"))
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            for _ in range(500):
                await response.write(b"x" * 1000)
                await asyncio.sleep(0.01)
        except (ConnectionError, asyncio.CancelledError):
            gone.set()
            raise
        return response

    app = web.Application()
    app.router.add_post("/e", endless)
    server, base = await serve(app)
    try:
        response = await post(client, base + "/e")
        assert await response.readany()
        response.close()
        await asyncio.wait_for(gone.wait(), 5)  # the provider learns at once
        response = await post(client, base + "/e")
        response.close()
        assert len(peers) == 2  # the half-read connection was not given to the next request
    finally:
        await server.runner.cleanup()


async def test_cancelling_the_wait_for_headers_drops_the_connection(client: http1.Client) -> None:
    closed = asyncio.Event()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await reader.read()  # until olga hangs up
        closed.set()

    server, base = await raw_server(slow)
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await post(client, base)
        await asyncio.wait_for(closed.wait(), 5)
    finally:
        server.close()


async def test_nothing_listening_is_a_connect_failure(client: http1.Client) -> None:
    server, base = await raw_server(read_request)  # type: ignore[arg-type]
    server.close()
    await server.wait_closed()
    with pytest.raises(ConnectFailed, match="cannot connect"):
        await post(client, base)


async def test_a_header_with_a_line_break_is_never_sent(client: http1.Client) -> None:
    with pytest.raises(ConnectFailed, match="line break"):
        await client.request(
            "POST", yarl.URL("http://127.0.0.1:9"), {"X-Evil": "a\r\nInjected: yes"}, b"{}", connect_timeout=5
        )


async def test_a_slow_reader_stops_the_connection_reading(client: http1.Client) -> None:
    big = b"y" * (8 * 1024 * 1024)

    just_over = b"z" * (http1.HIGH_WATER + 1000)

    async def large(request: web.Request) -> web.Response:
        return web.Response(body=big if request.path == "/big" else just_over)

    app = web.Application()
    app.router.add_post("/big", large)
    app.router.add_post("/just-over", large)
    server, base = await serve(app)
    try:
        response = await post(client, base + "/big")
        await asyncio.sleep(0.3)  # the reader is busy elsewhere while the bytes arrive
        buffered = response._size
        assert response._conn is not None and response._conn.paused
        assert buffered < 2 * http1.HIGH_WATER
        assert await read_all(response) == big
        # The connection goes back to the pool reading again, even when its last bytes paused it.
        for _ in range(2):
            late = await asyncio.wait_for(post(client, base + "/just-over"), 5)
            await asyncio.sleep(0.3)  # all of it arrives, and pauses the connection, before a read
            assert await asyncio.wait_for(read_all(late), 5) == just_over
    finally:
        await server.runner.cleanup()


async def test_idle_connections_are_closed_after_a_while(
    client: http1.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http1, "KEEP_IDLE", 0.1)
    hung_up = asyncio.Event()

    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await reader.read()
        hung_up.set()

    server, base = await raw_server(once)
    try:
        assert await read_all(await post(client, base)) == b"ok"
        await asyncio.wait_for(hung_up.wait(), 5)
    finally:
        server.close()


# -- TLS ---------------------------------------------------------------------------------------------


def self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    """An https server on 127.0.0.1 with a self-signed certificate: its URL, and the certificate."""
    cert, key = self_signed(tmp_path)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="over tls")

    app = web.Application()
    app.router.add_post("/t", hello)
    server, base = await serve(app, served)
    yield base + "/t", cert
    await server.runner.cleanup()


async def test_https_is_verified_against_the_trust_store(tls_server: tuple[str, Path]) -> None:
    url, cert = tls_server
    strict, trusting = http1.Client(), http1.Client(ssl.create_default_context(cafile=str(cert)))
    try:
        with pytest.raises(ConnectFailed, match="CERTIFICATE_VERIFY_FAILED"):
            await post(strict, url)  # a certificate nobody vouches for is refused
        assert await read_all(await post(trusting, url)) == b"over tls"
    finally:
        await strict.close()
        await trusting.close()


async def test_ssl_cert_file_adds_a_certificate_to_trust(
    tls_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, cert = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # as the README tells a company with its own CA
    client = http1.Client()
    try:
        assert await read_all(await post(client, url)) == b"over tls"
    finally:
        await client.close()


async def test_a_tls_handshake_that_never_ends_is_a_connect_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    server, base = await raw_server(silent)
    c = http1.Client()
    try:
        with pytest.raises(ConnectTimedOut, match=r"longer than 0\.2s"):
            await c.request("POST", yarl.URL(base.replace("http", "https")), {}, b"{}", connect_timeout=0.2)
    finally:
        await c.close()
        server.close()


@pytest.mark.parametrize(
    "answer, says",
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n", "not valid HTTP"),
        (b"SMTP ready\r\n\r\n", "not valid HTTP"),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
            "switched",
        ),
    ],
)
async def test_what_is_not_an_http_answer_is_a_disconnect(
    client: http1.Client, answer: bytes, says: str
) -> None:
    server, base = await raw_server(replying(answer))
    try:
        with pytest.raises(Disconnected, match=says):
            await post(client, base)
    finally:
        server.close()


async def test_an_interim_answer_is_skipped_for_the_real_one(client: http1.Client) -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone"
    server, base = await raw_server(replying(answer))
    try:
        response = await post(client, base)
        assert response.status == 201 and await read_all(response) == b"done"
    finally:
        server.close()


class ForeignTransport:
    """A stream transport of another event loop's making: the methods, not asyncio's class."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    def is_closing(self) -> bool:
        return False


async def test_a_transport_not_derived_from_asyncios_is_taken() -> None:
    conn = http1._Connection(http1.Client(), ("http", "127.0.0.1", 9))
    transport = ForeignTransport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    head = conn.send(b"GET / HTTP/1.1\r\n\r\n", None)
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    response = await head
    assert transport.sent == [b"GET / HTTP/1.1\r\n\r\n"] and await read_all(response) == b"ok"

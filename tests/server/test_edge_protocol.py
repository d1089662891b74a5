"""HTTP that cannot be parsed is answered in JSON, in the route's API shape, and the parser's limits
are wide enough for what real clients send (Claude Code's anthropic-beta header, long query strings)."""

from __future__ import annotations

import asyncio
import json

import pytest

from olga_cli.server.runner import HTTP_LIMITS
from tests.server.translation_support import Olga, fake_anthropic, olga

__all__ = ["fake_anthropic", "olga"]

BIG = HTTP_LIMITS["max_field_size"] + 1000


async def exchange(olga: Olga, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Write raw bytes to olga on a fresh connection; the status, headers and body of its answer."""
    host, port = olga.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(data)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 10)
        return int(lines[0].split()[1]), headers, body
    finally:
        writer.close()


MALFORMED = [
    ("a request line over the limit", b"GET /v1/models?q=" + b"a" * BIG + b" HTTP/1.1\r\nHost: x\r\n\r\n", "openai"),
    ("a header over the limit", b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * BIG + b"\r\n\r\n", "openai"),
    ("a header over the limit on /messages", b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nanthropic-beta: " + b"b" * BIG + b"\r\n\r\n", "anthropic"),
    ("200 headers", b"POST /v1/messages HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n", "anthropic"),
    ("a bare CR in a value", b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", "openai"),
    ("a NUL in a value", b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", "anthropic"),
    ("a bad method", b"G\x01T / HTTP/1.1\r\nHost: x\r\n\r\n", "openai"),
    ("TLS on the HTTP port", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40, "openai"),
    ("a bad chunk size", b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "openai"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "data", "shape"), MALFORMED, ids=[case[0] for case in MALFORMED])
async def test_unparseable_http_is_a_json_error_in_the_route_shape(
    olga: Olga, what: str, data: bytes, shape: str
) -> None:
    status, headers, body = await exchange(olga, data)
    assert status == 400 and headers["content-type"].startswith("application/json"), body
    error = json.loads(body)
    if shape == "anthropic":
        assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    else:
        assert set(error["error"]) == {"message", "type", "param", "code"}
    assert error["error"]["code"] == "invalid_request"
    assert "olga could not read this HTTP request" in error["error"]["message"]
    assert b"aaaa" not in body and b"bbbb" not in body  # the offending bytes are not echoed
    # ... and the server still answers everyone else.
    status, _, _ = await exchange(olga, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200


async def test_what_claude_code_sends_fits_within_the_limits(olga: Olga) -> None:
    """A 20 KB anthropic-beta header reaches the provider whole; a 16 KB query string is read."""
    betas = ",".join(f"beta-feature-{i:05d}-2025-01-01" for i in range(700))
    assert 20_000 < len(betas) < HTTP_LIMITS["max_field_size"]
    body = {
        "model": "anthropic/claude-haiku-4-5",
        "max_tokens": 20,
        "messages": [{"role": "user", "content": "hi"}],
    }
    status, _, raw = await olga.post(
        "/v1/messages", body, **{"anthropic-beta": betas, "anthropic-version": "2023-06-01"}
    )
    assert status == 200, raw
    assert olga.anthropic_fake.requests[-1][1]["anthropic-beta"] == betas
    query = "x=" + "q" * 16_000
    request = f"GET /v1/models?{query} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {olga.key}\r\nConnection: close\r\n\r\n"
    status, _, raw = await exchange(olga, request.encode())
    assert status == 200 and json.loads(raw)["data"], raw

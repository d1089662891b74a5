"""Fuzzed headers and raw HTTP: any header bytes, any request line, answered as JSON (never plain
text, never a 5xx), without hanging; the server healthy after."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.checks import assert_well_answered
from tests.fuzz.conftest import FUZZ, FuzzTarget
from tests.fuzz.strategies import HEADER_NAMES, HEADER_VALUES, METHODS, PATHS, VERSIONS
from tests.fuzz.test_fuzz_bodies import assert_healthy

CHAT = b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": true}'
MESSAGES = b'{"model": "anthropic/claude-haiku-4-5", "max_tokens": 9, "messages": [{"role": "user", "content": "hi"}]}'


def parse_answer(raw: bytes) -> tuple[int, str, bytes]:
    """Status, content type and body of the first answer in ``raw`` (chunked bodies joined)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {
        k.strip().lower(): v.strip()
        for k, _, v in (line.decode("latin-1").partition(":") for line in lines[1:])
    }
    if headers.get("transfer-encoding") == "chunked":
        out, rest = b"", body
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)  # ValueError: a broken chunked stream
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2 :]
        body = out
    elif "content-length" in headers:
        body = body[: int(headers["content-length"])]
    return status, headers.get("content-type", ""), body


@FUZZ
@given(
    headers=st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=4),
    messages=st.booleans(),
)
def test_fuzzed_header_values_are_answered_well(
    fuzz_olga: FuzzTarget, headers: list[tuple[str, bytes]], messages: bool
) -> None:
    path, body = ("/v1/messages", MESSAGES) if messages else ("/v1/chat/completions", CHAT)
    lines = [
        f"POST {path} HTTP/1.1".encode(),
        b"Host: olga",
        f"Authorization: Bearer {fuzz_olga.key}".encode(),
    ]
    lines += [name.encode() + b": " + value for name, value in headers]
    lines += [b"Content-Type: application/json", b"Content-Length: %d" % len(body), b"Connection: close"]
    raw = fuzz_olga.exchange(b"\r\n".join(lines) + b"\r\n\r\n" + body)
    status, content_type, answer = parse_answer(raw)
    assert_well_answered(path, status, content_type, answer)


@FUZZ
@given(
    method=METHODS,
    path=PATHS,
    version=VERSIONS,
    extra=st.lists(st.binary(max_size=40), max_size=3),
)
def test_fuzzed_request_lines_are_answered_well(
    fuzz_olga: FuzzTarget, method: str, path: str, version: str, extra: list[bytes]
) -> None:
    line = f"{method} {path} {version}".encode("utf-8", "surrogateescape")
    head = [
        line,
        b"Host: olga",
        f"Authorization: Bearer {fuzz_olga.key}".encode(),
        *extra,
        b"Connection: close",
    ]
    raw = fuzz_olga.exchange(b"\r\n".join(head) + b"\r\n\r\n", half_close=True)
    if not raw:
        return  # olga closed a connection it could not make sense of, without hanging
    status, content_type, answer = parse_answer(raw)
    assert status < 500, (line, raw[:300])
    if answer and method != "HEAD" and status != 200:
        assert content_type.startswith("application/json"), raw[:300]
        json.loads(answer)


def test_healthy_after_the_raw_http(fuzz_olga: FuzzTarget) -> None:
    assert_healthy(fuzz_olga)

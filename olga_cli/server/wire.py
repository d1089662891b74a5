"""The bytes of HTTP/1.1 that olga's server reads and writes: limits, a response's head, a request
body's coding, a path as routes match it."""

from __future__ import annotations

import time
import zlib
from collections.abc import Mapping
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import unquote

from olga_cli.codings import Decoder
from olga_cli.errors import GatewayError, InvalidRequest
from olga_cli.server.edge import body_too_large, body_unreadable

# What the parser accepts. Common defaults (8 KiB lines and header values) are below what real
# clients send: Claude Code's anthropic-beta list and long query strings. Documented in README.
HTTP_LIMITS = {
    "max_line_size": 32 * 1024,  # the request line: method, path and query string
    "max_field_size": 32 * 1024,  # one header line
    "max_headers": 128,  # header lines per request
}
MAX_LINE = HTTP_LIMITS["max_line_size"]
MAX_FIELD = HTTP_LIMITS["max_field_size"]
MAX_HEADERS = HTTP_LIMITS["max_headers"]
MAX_HEAD = MAX_LINE + MAX_HEADERS * MAX_FIELD  # bytes before a request's headers end, at most

REASONS = {status.value: status.phrase for status in HTTPStatus}
OURS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "date"})


def decoded_body(body: bytes, encoding: str, max_body: int) -> tuple[bytes, GatewayError | None]:
    """A body decoded from its ``Content-Encoding``, within ``max_body`` decoded bytes."""
    name = encoding.strip().lower()
    if name in ("br", "zstd"):
        return b"", body_unreadable(f"Content-Encoding {name} is not supported")
    decoder = Decoder.of(name)
    if decoder is None:
        return body, None  # identity, or a coding olga does not know: passed on as it came
    pieces: list[bytes] = []
    size = 0
    try:
        piece = decoder.decompress(body)
        while True:
            size += len(piece)
            if size > max_body:
                return b"", body_too_large(max_body)
            pieces.append(piece)
            if not decoder.pending:
                break
            piece = decoder.decompress(b"")
        tail = decoder.flush()  # what the stream's last symbols still held back
        if size + len(tail) > max_body:
            return b"", body_too_large(max_body)
        pieces.append(tail)
    except zlib.error as exc:
        return b"", body_unreadable(f"Can not decode content-encoding: {name} ({exc})")
    return b"".join(pieces), None


def routed_path(raw_path: str) -> str:
    """The path as routes match it: percent-decoded, but for an encoded slash, which stays inside its
    segment (``/v1/models/openai%2Fgpt-4o`` is one model id, decoded when the route reads it)."""
    if "%" not in raw_path:
        return raw_path
    return "%2F".join(unquote(part) for part in raw_path.replace("%2f", "%2F").split("%2F"))


def unreadable_error(what: str) -> InvalidRequest:
    return InvalidRequest(
        f"olga could not read this HTTP request ({what}). A request line "
        f"may be up to {MAX_LINE} bytes, a header line up to {MAX_FIELD}, with at most "
        f"{MAX_HEADERS} headers, and header values may not hold CR, LF or NUL."
    )


_date_second = -1
_date_line = ""


def date_line() -> str:
    """The ``Date`` header, formatted once a second."""
    global _date_second, _date_line
    now = int(time.time())
    if now != _date_second:
        _date_second, _date_line = now, f"Date: {formatdate(now, usegmt=True)}"
    return _date_line


def head(
    status: int, headers: Mapping[str, str], length: int | None, keep_alive: bool, version: tuple[int, int]
) -> bytes:
    """The status line and headers. ``length``: the body's size, None for chunked, -1 for to-the-close."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}", date_line()]
    typed = False
    for name, value in headers.items():
        lower = name.lower()
        if lower in OURS:
            continue
        typed = typed or lower == "content-type"
        lines.append(f"{name}: {value}")
    if length is None:
        lines.append("Transfer-Encoding: chunked")
    elif length >= 0:
        lines.append(f"Content-Length: {length}")
        if not typed and length:
            lines.append("Content-Type: application/octet-stream")
    if not keep_alive:
        lines.append("Connection: close")
    elif version < (1, 1):
        lines.append("Connection: keep-alive")
    text = "\r\n".join(lines)
    # One line per header: a value holding CR or LF would start a header of its own.
    if text.count("\n") != len(lines) - 1 or text.count("\r") != len(lines) - 1:
        raise ValueError("a response header value holds CR or LF")
    return (text + "\r\n\r\n").encode("utf-8", "surrogateescape")

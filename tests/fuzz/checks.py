"""The property every fuzzed request is held to: a 2xx, or a 4xx JSON error in the route's API shape;
never a 5xx from olga, never a broken stream, never a hang (``TIMEOUT``)."""

from __future__ import annotations

import http.client
import json

from tests.fuzz.conftest import TIMEOUT, FuzzTarget

# A provider's own error passes through as it came; the fakes never answer these on their own, so a
# 5xx seen here was made by olga.
OLGA_5XX_ALLOWED: set[int] = set()


def request(
    target: FuzzTarget, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> tuple[int, str, bytes]:
    """One request over a fresh connection, answer read to its end: (status, content type, body)."""
    connection = http.client.HTTPConnection(target.host, target.port, timeout=TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers)
        reply = connection.getresponse()
        return reply.status, reply.getheader("Content-Type") or "", reply.read()  # IncompleteRead: broken
    finally:
        connection.close()


def shape_of(path: str) -> str:
    return "anthropic" if "/messages" in path else "openai"


def assert_well_answered(path: str, status: int, content_type: str, body: bytes) -> None:
    assert status < 500, f"{status} from olga on {path}: {body[:500]!r}"
    if status >= 400:
        assert content_type.startswith("application/json"), (status, content_type, body[:300])
        error = json.loads(body)
        if shape_of(path) == "anthropic":
            assert error["type"] == "error" and {"type", "message"} <= set(error["error"]), error
        else:
            assert {"message", "type", "code"} <= set(error["error"]), error
    elif content_type.startswith("text/event-stream"):
        text = body.decode("utf-8")
        assert "HTTP/1.1" not in text and text.endswith("\n\n"), text[-300:]
    elif body:
        json.loads(body)

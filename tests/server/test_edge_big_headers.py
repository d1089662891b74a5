"""A 30 KB header olga reads (Authorization, x-api-key) or forwards (anthropic-beta) fits within the
parser's limits; whatever its value, the answer is JSON in the route's shape, or the request is
served where the header is valid: never a 500, never plain text.

Sent on raw connections, so that nothing in a client library shortens, refuses or rewrites them.
"""

from __future__ import annotations

import json

import pytest

from olga_cli.server.runner import HTTP_LIMITS
from tests.server.test_edge_protocol import exchange
from tests.server.translation_support import Olga, fake_anthropic, olga

__all__ = ["fake_anthropic", "olga"]

SIZE = 30 * 1024
assert HTTP_LIMITS["max_field_size"] > SIZE + 100  # the whole header line fits the parser's limit

CHAT = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {
    "model": "anthropic/claude-haiku-4-5",
    "max_tokens": 20,
    "messages": [{"role": "user", "content": "hi"}],
}
ROUTES = [
    ("POST", "/v1/chat/completions", CHAT, "openai"),
    ("POST", "/v1/responses", {"model": "openai/gpt-4o-mini", "input": "hi"}, "openai"),
    ("POST", "/v1/messages", MESSAGES, "anthropic"),
    ("POST", "/v1/anthropic/v1/messages", MESSAGES, "anthropic"),
    ("POST", "/v1/embeddings", {"model": "openai/text-embedding-3-small", "input": "hi"}, "openai"),
    ("GET", "/v1/models", None, "openai"),
    ("GET", "/v1/key", None, "openai"),
    ("GET", "/v1/generation?id=gen-x", None, "openai"),
]  # fmt: skip
VALUES = {
    "a 30 KB bearer token": ("Authorization", "Bearer sk-olga-" + "k" * SIZE),
    "a 30 KB Api-Key": ("Authorization", "Api-Key " + "k" * SIZE),
    "a 30 KB x-api-key": ("x-api-key", "sk-olga-" + "k" * SIZE),
    "a 30 KB Authorization of Latin-1 bytes": ("Authorization", "Bearer " + "\xe9" * SIZE),
}


def request(method: str, path: str, body: object, headers: dict[str, str]) -> bytes:
    data = json.dumps(body).encode() if body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + data


def assert_error_shape(shape: str, raw: bytes, code: str) -> dict[str, object]:
    error = json.loads(raw)
    if shape == "anthropic":
        assert error["type"] == "error" and set(error["error"]) >= {"type", "message"}
    else:
        assert set(error["error"]) == {"message", "type", "param", "code"}
    assert error["error"]["code"] == code
    return error


@pytest.mark.parametrize("value", list(VALUES))
@pytest.mark.parametrize(("method", "path", "body", "shape"), ROUTES, ids=[r[1] for r in ROUTES])
async def test_a_30_kb_key_is_a_401_in_the_routes_shape(
    olga: Olga, method: str, path: str, body: object, shape: str, value: str
) -> None:
    name, header = VALUES[value]
    status, headers, raw = await exchange(olga, request(method, path, body, {name: header}))
    assert status == 401 and headers["content-type"].startswith("application/json"), raw[:300]
    assert_error_shape(shape, raw, "invalid_api_key")
    assert b"kkkkkkkk" not in raw  # the value is not echoed back


async def test_a_30_kb_anthropic_beta_reaches_the_provider_whole(olga: Olga) -> None:
    betas = ",".join(f"beta-{i:06d}-2025" for i in range(SIZE // 17))
    assert len(betas) >= SIZE - 17
    headers = {"x-api-key": olga.key, "anthropic-version": "2023-06-01", "anthropic-beta": betas}
    status, reply_headers, raw = await exchange(olga, request("POST", "/v1/messages", MESSAGES, headers))
    assert status == 200 and reply_headers["content-type"].startswith("application/json"), raw[:300]
    assert json.loads(raw)["type"] == "message"
    assert olga.anthropic_fake.requests[-1][1]["anthropic-beta"] == betas


@pytest.mark.parametrize(
    ("path", "body", "shape"),
    [("/v1/messages", MESSAGES, "anthropic"), ("/v1/chat/completions", CHAT, "openai")],
)
async def test_a_30_kb_anthropic_beta_without_a_valid_key_is_a_json_401(
    olga: Olga, path: str, body: object, shape: str
) -> None:
    headers = {"x-api-key": "sk-olga-wrong", "anthropic-beta": "b" * SIZE}
    status, reply_headers, raw = await exchange(olga, request("POST", path, body, headers))
    assert status == 401 and reply_headers["content-type"].startswith("application/json")
    assert_error_shape(shape, raw, "invalid_api_key")


async def test_a_30_kb_anthropic_beta_on_a_translated_route_is_served(olga: Olga) -> None:
    """A Messages request to an OpenAI model: the betas mean nothing there and are not sent on."""
    headers = {"x-api-key": olga.key, "anthropic-version": "2023-06-01", "anthropic-beta": "b" * SIZE}
    body = {**MESSAGES, "model": "openai/gpt-4o-mini"}
    status, _, raw = await exchange(olga, request("POST", "/v1/messages", body, headers))
    assert status == 200 and json.loads(raw)["type"] == "message", raw[:300]
    assert "anthropic-beta" not in {name.lower() for name in olga.openai_fake.requests[-1].headers}

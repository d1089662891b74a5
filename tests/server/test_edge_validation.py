"""Requests are checked at the edge: a wrong shape, text that cannot be encoded or an unreadable header
is a 400 (or is ignored) in the route's API shape, naming the field; it never reaches the provider and
never answers 500."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from tests.server.translation_support import Olga, fake_anthropic, olga

__all__ = ["fake_anthropic", "olga"]

HI = [{"role": "user", "content": "hi"}]
CHAT = {"model": "openai/gpt-4o-mini", "messages": HI}
MESSAGES = {"model": "anthropic/claude-haiku-4-5", "max_tokens": 50, "messages": HI}
RESPONSES = {"model": "openai/gpt-4o-mini", "input": "hi"}
EMBEDDINGS = {"model": "openai/text-embedding-3-small", "input": "hi"}

# (path, body, the field named in the error): what probing olga from outside found answered 500 or
# reached the provider.
WRONG_SHAPES = [
    ("/v1/chat/completions", {**CHAT, "messages": "hello"}, "messages"),
    ("/v1/chat/completions", {**CHAT, "messages": True}, "messages"),
    ("/v1/chat/completions", {**CHAT, "messages": None}, "messages"),
    ("/v1/chat/completions", {**CHAT, "stream_options": [1]}, "stream_options"),
    ("/v1/chat/completions", {**CHAT, "top_p": {"a": 1}}, "top_p"),
    ("/v1/chat/completions", {**CHAT, "temperature": 2.5}, "temperature"),
    ("/v1/chat/completions", {**CHAT, "response_format": []}, "response_format"),
    ("/v1/chat/completions", {**CHAT, "n": 0}, "n"),
    ("/v1/chat/completions", {**CHAT, "tools": [{"type": "function", "function": {"parameters": {}}}]}, "tools[0].function.name"),
    ("/v1/chat/completions", {**CHAT, "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}, "messages[0].content[0].text"),
    ("/v1/openai/chat/completions", {**CHAT, "stop": {"x": 1}}, "stop"),
    ("/v1/messages", {**MESSAGES, "tools": [{"name": "t", "input_schema": 5}]}, "tools[0].input_schema"),
    ("/v1/messages", {**MESSAGES, "stop_sequences": {"a": 1}}, "stop_sequences"),
    ("/v1/messages", {**MESSAGES, "system": 7}, "system"),
    ("/v1/messages", {**MESSAGES, "temperature": 1.5}, "temperature"),
    ("/v1/messages", {**MESSAGES, "tool_choice": {"type": "sometimes"}}, "tool_choice.type"),
    ("/v1/anthropic/v1/messages", {**MESSAGES, "messages": [{"role": "user", "content": [{"type": "tool_use", "id": "t"}]}]}, "messages[0].content[0].name"),
    ("/v1/messages/count_tokens", {"model": "anthropic/claude-haiku-4-5", "messages": "hi"}, "messages"),
    ("/v1/responses", {**RESPONSES, "input": 5}, "input"),
    ("/v1/responses", {**RESPONSES, "text": {"format": {"type": "json_schema", "name": "x", "schema": 3}}}, "text.format.schema"),
    ("/v1/responses", {**RESPONSES, "input": [{"type": "function_call_output", "call_id": "c", "output": 4}]}, "input[0].output"),
    ("/v1/embeddings", {**EMBEDDINGS, "dimensions": {"a": 1}}, "dimensions"),
    ("/v1/embeddings", {**EMBEDDINGS, "input": None}, "input"),
    ("/v1/embeddings", {**EMBEDDINGS, "input": [1.5]}, "input"),
]  # fmt: skip


def error_of(path: str, status: int, raw: bytes) -> dict[str, Any]:
    """The error object, after checking the body is the route's error shape."""
    body = json.loads(raw)
    if "/messages" in path:
        assert body["type"] == "error" and set(body["error"]) == {"type", "message", "code"}
        assert body["error"]["type"] == "invalid_request_error"
    else:
        assert set(body["error"]) == {"message", "type", "param", "code"}
    assert status == 400
    return dict(body["error"])


def sent_upstream(olga: Olga) -> int:
    return len(olga.openai_fake.requests) + len(olga.anthropic_fake.requests)


@pytest.mark.parametrize(("path", "body", "param"), WRONG_SHAPES)
@pytest.mark.parametrize("stream", [False, True])
async def test_a_wrong_shape_is_a_400_naming_the_field(
    olga: Olga, path: str, body: dict[str, Any], param: str, stream: bool
) -> None:
    if stream and "count_tokens" not in path and "embeddings" not in path:
        body = {**body, "stream": True}
    status, headers, raw = await olga.post(path, body, Authorization=f"Bearer {olga.key}")
    error = error_of(path, status, raw)
    assert error["code"] == "invalid_request"
    assert f"'{param}' must be" in error["message"]
    if "param" in error:
        assert error["param"] == param
    assert headers["Content-Type"].startswith("application/json")
    assert sent_upstream(olga) == 0


SURROGATE_BODIES = [
    ("/v1/chat/completions", b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "a\\ud800"}]}', "messages[0].content"),
    ("/v1/openai/chat/completions", b'{"model": "openai/gpt-4o-mini", "user": "\\udfff", "messages": [{"role": "user", "content": "hi"}]}', "user"),
    ("/v1/messages", b'{"model": "anthropic/claude-haiku-4-5", "max_tokens": 9, "messages": [{"role": "user", "content": [{"type": "text", "text": "\\uDBFF!"}]}]}', "messages[0].content[0].text"),
    ("/v1/messages/count_tokens", b'{"model": "anthropic/claude-haiku-4-5", "messages": [{"role": "user", "content": "\\ud800"}]}', "messages[0].content"),
    ("/v1/responses", b'{"model": "openai/gpt-4o-mini", "input": "x", "metadata": {"\\ud801": "v"}}', "metadata.\\ud801"),
    ("/v1/embeddings", b'{"model": "openai/text-embedding-3-small", "input": ["ok", "\\ude00"]}', "input[1]"),
    ("/v1/chat/completions", b'{"model": "openai/gpt-4o-mini\\ud800", "messages": [{"role": "user", "content": "hi"}]}', "model"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "raw", "param"), SURROGATE_BODIES)
@pytest.mark.parametrize("stream", [False, True])
async def test_a_lone_surrogate_is_a_400_naming_the_field(
    olga: Olga, path: str, raw: bytes, param: str, stream: bool
) -> None:
    if stream:
        raw = raw[:-1] + b', "stream": true}'
    headers = {"Authorization": f"Bearer {olga.key}", "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(olga.url + path, data=raw, headers=headers) as reply,
    ):
        status, body = reply.status, await reply.read()
    error = error_of(path, status, body)
    assert "not valid Unicode" in error["message"]
    if "param" in error:
        assert error["param"] == param
    assert sent_upstream(olga) == 0


async def test_paired_surrogates_are_ordinary_text(olga: Olga) -> None:
    """An emoji escaped as a surrogate pair (what ensure_ascii JSON encoders send) is fine."""
    raw = b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "\\ud83d\\ude00 \\\\ud800"}]}'
    headers = {"Authorization": f"Bearer {olga.key}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        async with session.post(olga.running.v1 + "/chat/completions", data=raw, headers=headers) as reply:
            assert reply.status == 200, await reply.text()
    assert olga.openai_fake.last.body["messages"][0]["content"] == "\U0001f600 \\ud800"


async def test_nan_and_infinity_are_not_json(olga: Olga) -> None:
    raw = b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "metadata": {"x": NaN}}'
    headers = {"Authorization": f"Bearer {olga.key}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        async with session.post(olga.running.v1 + "/chat/completions", data=raw, headers=headers) as reply:
            status, body = reply.status, await reply.read()
    assert "NaN is not a JSON number" in error_of("/v1/chat/completions", status, body)["message"]


async def test_hint_fields_real_clients_send_pass_through(olga: Olga) -> None:
    """Fields the tables do not name, and null for optional ones, go to the provider untouched."""
    # Fields no API knows yet, and a signature no one signed: only that olga forwards them is checked.
    olga.openai_fake.strict = olga.anthropic_fake.strict = False
    chat = {
        **CHAT,
        "messages": [
            {"role": "system", "content": "be brief", "providerOptions": {"x": 1}},
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}],
            },
        ],
        "temperature": None,
        "stop": None,
        "stream_options": None,
        "some_new_field": {"anything": [1, 2]},
    }
    status, _, raw = await olga.post("/v1/chat/completions", chat, Authorization=f"Bearer {olga.key}")
    assert status == 200, raw
    assert olga.openai_fake.last.body["some_new_field"] == {"anything": [1, 2]}
    codex = {
        "model": "openai/gpt-4o-mini",
        "instructions": "You are Codex.",
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {"type": "reasoning", "summary": [], "encrypted_content": "gAAA"},
            {"type": "function_call", "name": "shell", "arguments": "{}", "call_id": "c1"},
            {"type": "function_call_output", "call_id": "c1", "output": "ok"},
            {"type": "local_shell_call", "id": "x", "action": {"type": "exec"}},
        ],
        "tools": [
            {"type": "function", "name": "shell", "parameters": {"type": "object"}, "strict": False},
            {"type": "namespace", "name": "mcp", "tools": []},
            {"type": "web_search"},
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "session-1",
        "client_metadata": {"x": "y"},
    }
    status, _, raw = await olga.post("/v1/responses", codex, Authorization=f"Bearer {olga.key}")
    assert status == 200, raw
    claude_code = {
        **MESSAGES,
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hm", "signature": "sig"},
                    {"type": "server_tool_use", "id": "s1", "name": "web_search", "input": {}},
                    {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}},
                ],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "a.txt"}]},
        ],
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}],
        "context_management": {"edits": []},
        "metadata": {"user_id": "u"},
    }
    status, _, raw = await olga.post("/v1/messages", claude_code)
    assert status == 200, raw
    assert olga.anthropic_fake.requests[-1][2]["context_management"] == {"edits": []}


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
async def test_an_unreadable_or_oversized_title_is_ignored(olga: Olga, path: str) -> None:
    body = CHAT if "chat" in path else MESSAGES
    for title, request_id in ((b"caf\xe9 \xff", b"req-\xfe"), (b"t" * 5000, b"r" * 5000)):
        status, raw, generation_id = await raw_post(
            olga,
            path,
            body,
            {b"Authorization": f"Bearer {olga.key}".encode(), b"X-Title": title, b"X-Request-ID": request_id},
        )
        assert status == 200, raw
        record = await olga.generation(generation_id)
        assert record["app"] is None and record["request_id"] is None


async def test_an_unreadable_key_is_a_401(olga: Olga) -> None:
    for path in ("/v1/chat/completions", "/v1/messages", "/v1/messages/count_tokens"):
        status, raw, _ = await raw_post(olga, path, CHAT, {b"Authorization": b"Bearer sk-olga-\xff\xfe"})
        assert status == 401
        assert b"invalid_api_key" in raw
    status, raw, _ = await raw_post(olga, "/v1/models", None, {b"x-api-key": b"k\xff"}, method="GET")
    assert status == 401 and b"invalid_api_key" in raw


async def raw_post(
    olga: Olga, path: str, body: Any, headers: dict[bytes, bytes], *, method: str = "POST"
) -> tuple[int, bytes, str]:
    """A request written byte by byte, so that header values can be any bytes."""
    payload = json.dumps(body).encode() if body is not None else b""
    host, port = olga.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = [
        f"{method} {path} HTTP/1.1".encode(),
        b"Host: olga",
        b"Content-Type: application/json",
        b"Connection: close",
    ]
    head += [name + b": " + value for name, value in headers.items()]
    head.append(b"Content-Length: " + str(len(payload)).encode())
    writer.write(b"\r\n".join(head) + b"\r\n\r\n" + payload)
    answer = await reader.read()
    writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    head_part, _, body_part = rest.partition(b"\r\n\r\n")
    generation = next(
        (
            line.split(b": ", 1)[1].decode()
            for line in head_part.split(b"\r\n")
            if line.lower().startswith(b"x-olga-generation-id")
        ),
        "",
    )
    return int(status_line.split()[1]), body_part, generation


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/v1/messages/count_tokens"])
async def test_a_body_that_is_not_what_its_content_encoding_says_is_a_400(olga: Olga, path: str) -> None:
    """Found by the fuzzing suite: ``Content-Encoding: gzip`` over plain JSON answered 500."""
    status, raw, _ = await raw_post(
        olga, path, CHAT, {b"Authorization": f"Bearer {olga.key}".encode(), b"Content-Encoding": b"gzip"}
    )
    error = error_of(path, status, raw)
    assert "could not be read" in error["message"] and "Content-Encoding" in error["message"]
    assert sent_upstream(olga) == 0

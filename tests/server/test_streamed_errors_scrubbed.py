"""A provider's error event mid-stream never carries its key to the caller, on any route.

Some providers quote the credentials they were sent in their errors. A streamed error event is
forwarded as it came on a same-API route and translated on the others; either way olga scrubs the
provider's key (and anything the secrets detector finds) from it before any of it leaves, and the
record keeps the scrubbed copy.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.gateway import configure, mint_key, start_gateway
from tests.fakes.misbehaving import Misbehaving, chat_chunk, sse, stream_quoting_key
from tests.server.resilience_support import Olga

OPENAI_KEY = "sk-proj-Upstream0123456789abcdefSECRET"
ANTHROPIC_KEY = "sk-ant-api03-Upstream0123456789abcdefSECRET"
HELLO = [{"role": "user", "content": "hi"}]


def quoted(presented: str) -> str:
    return f"Invalid credentials {presented}; check the key"


def chat_stream(presented: str) -> list[bytes]:
    error = {"error": {"message": quoted(presented), "type": "invalid_request_error", "code": None}}
    return [chat_chunk("Hel"), sse(error)]


def messages_stream(presented: str) -> list[bytes]:
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 5, "output_tokens": 1},
        },
    }
    block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}}
    error = {"type": "error", "error": {"type": "overloaded_error", "message": quoted(presented)}}
    return [
        sse(start, "message_start"),
        sse(block, "content_block_start"),
        sse(delta, "content_block_delta"),
        sse(error, "error"),
    ]


def responses_stream(presented: str) -> list[bytes]:
    response = {
        "id": "resp_1",
        "object": "response",
        "status": "in_progress",
        "model": "gpt-4o-mini",
        "output": [],
    }
    created = {"type": "response.created", "sequence_number": 0, "response": response}
    delta = {
        "type": "response.output_text.delta",
        "sequence_number": 1,
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "Hel",
    }
    error = {
        "type": "error",
        "code": "server_error",
        "message": quoted(presented),
        "param": None,
        "sequence_number": 2,
    }
    return [sse(created, "response.created"), sse(delta, "response.output_text.delta"), sse(error, "error")]


UPSTREAM_PATHS = {
    chat_stream: "/v1/chat/completions",
    messages_stream: "/v1/messages",
    responses_stream: "/v1/responses",
}


@dataclass(frozen=True)
class Route:
    path: str
    body: dict[str, object]
    provider: str
    build: Callable[[str], list[bytes]]


ROUTES = {
    "chat, passed through": Route(
        "/chat/completions", {"model": "openai/gpt-4o-mini", "messages": HELLO}, "openai", chat_stream
    ),
    "messages, passed through": Route(
        "/messages",
        {"model": "anthropic/claude-haiku-4-5", "max_tokens": 50, "messages": HELLO},
        "anthropic",
        messages_stream,
    ),
    "responses, passed through": Route(
        "/responses", {"model": "openai/gpt-4o-mini", "input": "hi"}, "openai", responses_stream
    ),
    "messages, translated from chat": Route(
        "/messages",
        {"model": "openai/gpt-4o-mini", "max_tokens": 50, "messages": HELLO},
        "openai",
        chat_stream,
    ),
    "chat, translated from messages": Route(
        "/chat/completions",
        {"model": "anthropic/claude-haiku-4-5", "messages": HELLO},
        "anthropic",
        messages_stream,
    ),
}


@pytest.fixture
async def fake() -> AsyncIterator[Misbehaving]:
    server = await Misbehaving().start()
    yield server
    await server.close()


@pytest.fixture
async def olga(home: Path, fake: Misbehaving) -> AsyncIterator[Olga]:
    configure(
        home,
        providers={
            "openai": {"base_url": fake.url + "/v1", "api_key": OPENAI_KEY, "max_retries": 0},
            "anthropic": {"base_url": fake.url, "api_key": ANTHROPIC_KEY, "max_retries": 0},
        },
    )
    row, key = await mint_key(home, name="scrubbed")
    running = Olga(await start_gateway(home), key, row.id)
    yield running
    await running.close()


async def read_until_error(olga: Olga, route: Route, *, leave: bool) -> tuple[bytes, str]:
    """The stream as the caller got it, and its generation id; with ``leave``, the caller hangs up as
    soon as an error has reached it (as the SDKs do: they raise on the error event)."""
    headers = {"Authorization": f"Bearer {olga.key}", "anthropic-version": "2023-06-01"}
    received = b""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            olga.running.v1 + route.path, json={**route.body, "stream": True}, headers=headers
        ) as reply,
    ):
        assert reply.status == 200
        generation_id = reply.headers["x-olga-generation-id"]
        async for chunk in reply.content.iter_any():
            received += chunk
            if leave and b"error" in received:
                break
    return received, generation_id


@pytest.mark.parametrize("name", list(ROUTES))
async def test_a_streamed_error_quoting_the_providers_key_reaches_the_caller_scrubbed(
    olga: Olga, fake: Misbehaving, name: str
) -> None:
    route = ROUTES[name]
    fake.behaviour = stream_quoting_key(route.build)
    raw, generation_id = await read_until_error(olga, route, leave=False)
    assert b"Invalid credentials" in raw and b"check the key" in raw  # the provider's words arrive...
    assert OPENAI_KEY.encode() not in raw and ANTHROPIC_KEY.encode() not in raw  # ...without its key
    assert b"[PROVIDER_KEY]" in raw
    assert [seen.path for seen in fake.requests] == [UPSTREAM_PATHS[route.build]]
    record = await olga.record(generation_id)
    assert (record.status, record.error) == (502, "provider_error")
    saved = json.dumps(record.to_json(with_bodies=True))
    assert OPENAI_KEY not in saved and ANTHROPIC_KEY not in saved
    assert "[PROVIDER_KEY]" in (record.attempts[-1].error or "")


async def test_a_caller_who_leaves_at_the_providers_error_event_is_recorded_as_the_providers_failure(
    olga: Olga, fake: Misbehaving
) -> None:
    """The provider lingers after its error event (keep-alive comments); the caller, like an SDK,
    hangs up at the error. What ended the request is the provider's failure, not the caller leaving."""
    route = ROUTES["messages, passed through"]
    fake.behaviour = stream_quoting_key(route.build, then=b": still here\n\n", seconds=5)
    raw, generation_id = await read_until_error(olga, route, leave=True)
    assert ANTHROPIC_KEY.encode() not in raw
    record = await olga.record(generation_id, wait=5)
    assert (record.status, record.error) == (502, "provider_error")
    assert "Invalid credentials [PROVIDER_KEY]" in (record.attempts[-1].error or "")

"""The Anthropic SDK through olga to an Anthropic provider: the same API, passed through untouched.

Bodies (cache_control, thinking blocks and their signatures) and streams go through as they came;
olga swaps the keys, forwards anthropic-version and anthropic-beta, meters cache reads and writes at
their own prices, and answers its own errors in Anthropic's shape.
"""

from __future__ import annotations

import json

import aiohttp
import anthropic
import pytest
from anthropic._constants import ANTHROPIC_API_VERSION

from olga_cli.store.db import open_store
from tests.fakes.anthropic_upstream import FakeAnthropic, ToolUse, stream_events
from tests.server.translation_support import (
    HELLO,
    WEATHER_TOOL_ANTHROPIC,
    Olga,
    cost,
    fake_anthropic,
    olga,
)

__all__ = ["fake_anthropic", "olga"]  # fixtures

MODEL = "anthropic/claude-haiku-4-5"
HAIKU = {"input": "1", "output": "5", "read": "0.1", "write": "1.25"}  # USD per million tokens

HISTORY = [
    {
        "role": "user",
        "content": [{"type": "text", "text": "What is 2+2?", "cache_control": {"type": "ephemeral"}}],
    },
    {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Two and two make four.", "signature": "EqQBCkYIAxgCIkD+/=="},
            {"type": "redacted_thinking", "data": "RVJBU0VEIHRoaW5raW5n\u00e9"},
            {"type": "text", "text": "4"},
        ],
    },
    {"role": "user", "content": "And 3+3?"},
]
SYSTEM = [
    {"type": "text", "text": "You are terse. \u2603", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
]
BETAS = "prompt-caching-2024-07-31,interleaved-thinking-2025-05-14"


async def test_create_passes_the_body_through_and_prices_cache_reads_and_writes(olga: Olga) -> None:
    fake = olga.anthropic_fake
    fake.signatures.add("EqQBCkYIAxgCIkD+/==")  # as if Anthropic had signed the history's thinking
    fake.reply(
        text="6",
        input_tokens=30,
        output_tokens=4,
        cache_read_input_tokens=100,
        cache_creation_input_tokens=20,
    )
    client = olga.anthropic()
    raw = await client.messages.with_raw_response.create(
        model=MODEL,
        max_tokens=2048,
        system=SYSTEM,
        messages=HISTORY,
        thinking={"type": "enabled", "budget_tokens": 1024},
        extra_headers={"anthropic-beta": BETAS},
    )
    message = await raw.parse()
    assert message.content[0].type == "text" and message.content[0].text == "6"
    assert message.id.startswith("msg_")  # the provider's id, kept
    assert (message.usage.cache_read_input_tokens, message.usage.cache_creation_input_tokens) == (100, 20)

    path, headers, body = fake.requests[-1]
    assert path == "/v1/messages"
    # Everything but the model name reaches the provider exactly as sent, in order.
    assert list(body) == ["max_tokens", "messages", "model", "system", "thinking"]
    assert body["model"] == "claude-haiku-4-5"
    assert body["messages"] == HISTORY and body["system"] == SYSTEM
    assert body["messages"][1]["content"][0]["signature"] == "EqQBCkYIAxgCIkD+/=="
    # The provider's key goes up, never the olga key; the caller's API version and betas go along.
    assert headers["x-api-key"] == "sk-ant-upstream-test-key"
    assert olga.key not in json.dumps(headers)
    assert "authorization" not in headers
    assert headers["anthropic-beta"] == BETAS
    assert headers["anthropic-version"] == ANTHROPIC_API_VERSION  # the SDK's, not olga's default

    record = await olga.generation(raw.headers["x-olga-generation-id"])
    assert record["endpoint"] == "/v1/messages" and record["provider"] == "anthropic"
    assert record["upstream_id"] == message.id and record["finish_reason"] == "end_turn"
    assert (record["tokens_prompt"], record["tokens_cached"], record["tokens_cache_write"]) == (150, 100, 20)
    assert record["tokens_completion"] == 4 and record["usage_estimated"] is False
    # Each input token priced once, at its own rate: 30 uncached, 100 read, 20 written.
    assert record["cost"] == cost(
        (30, HAIKU["input"]), (100, HAIKU["read"]), (20, HAIKU["write"]), (4, HAIKU["output"])
    )
    assert record["cost"] == "0.000085"


async def test_the_sdk_version_header_is_forwarded_and_a_default_is_sent_without_one(olga: Olga) -> None:
    status, _, _ = await olga.post(
        "/v1/messages",
        {"model": MODEL, "max_tokens": 10, "messages": HELLO},
        **{"anthropic-version": "2099-01-01"},
    )
    assert status == 200
    assert olga.anthropic_fake.requests[-1][1]["anthropic-version"] == "2099-01-01"
    status, _, _ = await olga.post("/v1/messages", {"model": MODEL, "max_tokens": 10, "messages": HELLO})
    assert status == 200
    assert olga.anthropic_fake.requests[-1][1]["anthropic-version"] == "2023-06-01"
    assert "anthropic-beta" not in olga.anthropic_fake.requests[-1][1]


async def test_max_tokens_is_filled_from_the_catalog_when_missing(olga: Olga) -> None:
    status, _, _ = await olga.post("/v1/messages", {"model": MODEL, "messages": HELLO})
    assert status == 200
    # claude-haiku-4-5 may write 64000 tokens; olga asks for the model's maximum, capped at 16384.
    assert olga.anthropic_fake.requests[-1][2]["max_tokens"] == 16384
    await olga.post("/v1/messages", {"model": MODEL, "messages": HELLO, "max_tokens": 7})
    assert olga.anthropic_fake.requests[-1][2]["max_tokens"] == 7


async def test_stream_is_relayed_byte_for_byte_and_metered(olga: Olga) -> None:
    reply = olga.anthropic_fake.reply(
        text="Hello there, friend.",
        thinking="Greet them.",
        tool_uses=[ToolUse("get_weather", {"city": "Paris"}, id="toolu_01")],
        input_tokens=40,
        output_tokens=25,
        cache_read_input_tokens=8,
        message_id="msg_stream01",
    )
    status, headers, raw = await olga.post(
        "/v1/messages", {"model": MODEL, "max_tokens": 300, "messages": HELLO, "stream": True}
    )
    assert status == 200 and headers["Content-Type"].startswith("text/event-stream")
    assert raw == b"".join(stream_events(reply, model="claude-haiku-4-5"))
    record = await olga.generation(headers["x-olga-generation-id"])
    assert record["streamed"] is True and record["upstream_id"] == "msg_stream01"
    assert (record["tokens_prompt"], record["tokens_cached"], record["tokens_completion"]) == (48, 8, 25)
    assert record["finish_reason"] == "tool_use"
    assert record["cost"] == cost((40, HAIKU["input"]), (8, HAIKU["read"]), (25, HAIKU["output"]))


async def test_sdk_stream_final_message_with_thinking_and_tool_use(olga: Olga) -> None:
    olga.anthropic_fake.reply(
        text="Let me check.",
        thinking="Need the weather tool.",
        tool_uses=[ToolUse("get_weather", {"city": "Paris", "unit": "C"})],
        output_tokens=33,
    )
    async with olga.anthropic().messages.stream(
        model=MODEL,
        max_tokens=2048,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER_TOOL_ANTHROPIC],
        thinking={"type": "enabled", "budget_tokens": 1024},
    ) as stream:
        texts = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(texts) == "Let me check."
    assert [block.type for block in final.content] == ["thinking", "text", "tool_use"]
    assert final.content[0].type == "thinking" and final.content[0].signature == "sig-" + "a" * 16
    tool = final.content[2]
    assert (
        tool.type == "tool_use"
        and tool.name == "get_weather"
        and tool.input == {"city": "Paris", "unit": "C"}
    )
    assert final.stop_reason == "tool_use" and final.usage.output_tokens == 33


async def test_tool_use_round_trip(olga: Olga) -> None:
    olga.anthropic_fake.reply(text=None, tool_uses=[ToolUse("get_weather", {"city": "Oslo"}, id="toolu_9")])
    client = olga.anthropic()
    first = await client.messages.create(
        model=MODEL,
        max_tokens=200,
        tools=[WEATHER_TOOL_ANTHROPIC],
        messages=[{"role": "user", "content": "Oslo?"}],
    )
    assert first.stop_reason == "tool_use"
    call = first.content[0]
    assert call.type == "tool_use" and call.input == {"city": "Oslo"}
    olga.anthropic_fake.reply(text="It is 3 degrees in Oslo.")
    second = await client.messages.create(
        model=MODEL,
        max_tokens=200,
        extra_headers={"x-olga-cache": "off"},  # the blocks exactly as sent, without cache breakpoints
        tools=[WEATHER_TOOL_ANTHROPIC],
        messages=[
            {"role": "user", "content": "Oslo?"},
            {"role": "assistant", "content": [block.model_dump() for block in first.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "3C"}]},
        ],
    )
    assert second.content[0].type == "text" and "3 degrees" in second.content[0].text
    sent = olga.anthropic_fake.requests[-1][2]["messages"][2]["content"][0]
    assert sent == {"type": "tool_result", "tool_use_id": "toolu_9", "content": "3C"}


async def test_sdk_base_url_pinned_to_the_anthropic_provider(olga: Olga) -> None:
    client = olga.anthropic(base_url=f"{olga.url}/v1/anthropic")
    message = await client.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=HELLO)
    assert message.content[0].type == "text"
    assert olga.anthropic_fake.requests[-1][0] == "/v1/messages"
    counted = await client.messages.count_tokens(model="claude-haiku-4-5", messages=HELLO)
    assert counted.input_tokens >= 1
    assert olga.anthropic_fake.requests[-1][0] == "/v1/messages/count_tokens"


async def test_count_tokens_is_passed_through_and_not_recorded(olga: Olga) -> None:
    olga.anthropic_fake.count_tokens_result = 1234
    client = olga.anthropic()
    counted = await client.messages.count_tokens(
        model=MODEL, messages=HELLO, system=SYSTEM, extra_headers={"anthropic-beta": BETAS}
    )
    assert counted.input_tokens == 1234
    path, headers, body = olga.anthropic_fake.requests[-1]
    assert path == "/v1/messages/count_tokens"
    assert body == {"model": "claude-haiku-4-5", "messages": HELLO, "system": SYSTEM}
    assert headers["x-api-key"] == "sk-ant-upstream-test-key" and headers["anthropic-beta"] == BETAS
    db = await open_store(olga.running.home / "olga.db")
    try:
        assert await db.records.recent_generations() == []  # free and frequent: no record, no charge
    finally:
        await db.close()


async def test_count_tokens_for_a_provider_without_it_is_estimated(olga: Olga) -> None:
    status, headers, body = await olga.post(
        "/v1/messages/count_tokens",
        {"model": "mock/echo", "messages": [{"role": "user", "content": "one two"}]},
    )
    assert status == 200 and headers["x-olga-estimated"] == "true"
    assert json.loads(body)["input_tokens"] == 2 + 3  # two words and the message's framing


async def test_count_tokens_needs_a_key_and_answers_in_anthropic_shape(olga: Olga) -> None:
    client = olga.anthropic(api_key="sk-olga-wrong")
    with pytest.raises(anthropic.AuthenticationError) as caught:
        await client.messages.count_tokens(model=MODEL, messages=HELLO)
    assert caught.value.body == {
        "type": "error",
        "error": {
            "type": "authentication_error",
            "message": caught.value.body["error"]["message"],
            "code": "invalid_api_key",
        },
    }


async def test_olga_errors_come_in_anthropic_shape(olga: Olga) -> None:
    bad = olga.anthropic(api_key="sk-olga-nope")
    with pytest.raises(anthropic.AuthenticationError) as auth:
        await bad.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
    assert auth.value.body["type"] == "error" and auth.value.body["error"]["type"] == "authentication_error"
    with pytest.raises(anthropic.BadRequestError) as unknown:
        await olga.anthropic().messages.create(
            model="anthropic/claude-nonexistent", max_tokens=5, messages=HELLO
        )
    assert unknown.value.body["error"] == {
        "type": "invalid_request_error",
        "message": unknown.value.body["error"]["message"],
        "code": "unknown_model_pricing",
    }
    with pytest.raises(anthropic.NotFoundError) as pinned:
        await olga.anthropic(base_url=f"{olga.url}/v1/nowhere").messages.create(
            model=MODEL, max_tokens=5, messages=HELLO
        )
    assert (
        pinned.value.body["error"]["type"] == "not_found_error"
        and "nowhere" in pinned.value.body["error"]["message"]
    )


async def test_provider_errors_pass_through_as_they_came(olga: Olga) -> None:
    message = "temperature and top_p cannot both be specified for this model"
    olga.anthropic_fake.fail(400, message=message)
    with pytest.raises(anthropic.BadRequestError) as caught:
        await olga.anthropic().messages.create(
            model=MODEL, max_tokens=50, messages=HELLO, extra_body={"temperature": 0.5, "top_p": 0.9}
        )
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": message},
    }


async def test_a_provider_error_mid_stream_reaches_the_sdk(olga: Olga, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.reply(
        text="partial answer", stream_error={"type": "overloaded_error", "message": "Overloaded"}
    )
    with pytest.raises(anthropic.APIStatusError) as caught:
        async with olga.anthropic().messages.with_streaming_response.create(
            model=MODEL, max_tokens=50, messages=HELLO, stream=True
        ) as response:
            generation_id = response.headers["x-olga-generation-id"]
            async for _ in await response.parse():
                pass
    assert "Overloaded" in str(caught.value)
    # The caller got HTTP 200 and then the provider's error: the record says the stream failed.
    record = await olga.generation_when_committed(generation_id)
    assert record["status"] == 502 and record["error"] == "provider_error"
    assert "Overloaded" in record["attempts"][-1]["error"]


async def test_a_claude_code_shaped_request_goes_through(olga: Olga) -> None:
    """What Claude Code sends: /v1/messages?beta=true with a Bearer token, betas, a cached system prompt,
    tools, thinking and streaming; and token counting the same way."""
    olga.anthropic_fake.signatures.add("EqQBCkYIAxgCIkD+/==")
    body = {
        "model": "claude-haiku-4-5-20251001",
        "max_tokens": 32000,
        "stream": True,
        "system": SYSTEM,
        "messages": HISTORY,
        "tools": [{**WEATHER_TOOL_ANTHROPIC, "cache_control": {"type": "ephemeral"}}],
        "thinking": {"type": "enabled", "budget_tokens": 31999},
        "metadata": {"user_id": "user_abc_account__session_1"},
        "temperature": 1,
    }
    headers = {
        "Authorization": f"Bearer {olga.key}",
        "anthropic-beta": BETAS,
        "anthropic-version": "2023-06-01",
        "x-app": "cli",
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{olga.url}/v1/messages?beta=true", json=body, headers=headers) as reply:
            assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/event-stream")
            raw = await reply.read()
        count_body = {k: body[k] for k in ("model", "system", "messages", "tools")}
        async with session.post(
            f"{olga.url}/v1/messages/count_tokens?beta=true", json=count_body, headers=headers
        ) as counted:
            assert counted.status == 200 and (await counted.json())["input_tokens"] > 0
    assert raw.endswith(b'event: message_stop\ndata: {"type": "message_stop"}\n\n')
    sent = olga.anthropic_fake.requests[0]
    assert sent[2] == {**body, "model": "claude-haiku-4-5-20251001"}
    assert sent[1]["anthropic-beta"] == BETAS and sent[1]["x-api-key"] == "sk-ant-upstream-test-key"

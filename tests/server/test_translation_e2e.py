"""One script, every SDK entry point, changing only the model string: an OpenAI-format provider and an
Anthropic-format provider give correct answers, streams, tool calls and usage through olga.

Also: the OpenAI SDK's Chat Completions to an Anthropic provider in detail, LangChain's ChatOpenAI,
and embeddings.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from langchain_core.messages import AIMessageChunk
from langchain_openai import ChatOpenAI

from tests.fakes.anthropic_upstream import ToolUse
from tests.fakes.openai_upstream import Script, ToolCall
from tests.server.translation_support import (
    HELLO,
    WEATHER_TOOL_ANTHROPIC,
    WEATHER_TOOL_OPENAI,
    Olga,
    cost,
    fake_anthropic,
    olga,
)

__all__ = ["fake_anthropic", "olga"]  # fixtures

OPENAI_MODEL = "openai/gpt-4o-mini"
ANTHROPIC_MODEL = "anthropic/claude-haiku-4-5"
BOTH = pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL])

# What each fake answers by default, and what it costs at the catalog's prices.
ANSWER = {OPENAI_MODEL: "Hello from the fake provider.", ANTHROPIC_MODEL: "Hello from the fake Anthropic."}
USAGE = {OPENAI_MODEL: (12, 7), ANTHROPIC_MODEL: (12, 7)}
COST = {
    OPENAI_MODEL: cost((12, "0.15"), (7, "0.6")),
    ANTHROPIC_MODEL: cost((12, "1"), (7, "5")),
}


def script_weather_call(olga: Olga, model: str) -> None:
    """The next answer of the provider behind ``model`` is a get_weather(Paris) call."""
    if model == OPENAI_MODEL:
        olga.openai_fake.script(Script(tool_calls=[ToolCall("get_weather", {"city": "Paris"}, id="call_w1")]))
    else:
        olga.anthropic_fake.reply(
            text=None, tool_uses=[ToolUse("get_weather", {"city": "Paris"}, id="call_w1")]
        )


# -- the same script for both providers ---------------------------------------------------------


@BOTH
async def test_chat_completions_create(olga: Olga, model: str) -> None:
    raw = await olga.openai().chat.completions.with_raw_response.create(model=model, messages=HELLO)
    completion = raw.parse()
    assert completion.choices[0].message.content == ANSWER[model]
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == USAGE[model]
    record = await olga.generation(raw.headers["x-olga-generation-id"])
    assert record["cost"] == COST[model] and record["endpoint"] == "/v1/chat/completions"
    assert record["finish_reason"] == "stop"


@BOTH
async def test_chat_completions_stream(olga: Olga, model: str) -> None:
    stream = await olga.openai().chat.completions.create(
        model=model, messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ANSWER[model]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == USAGE[model]
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "stop"
    ]


@BOTH
async def test_chat_completions_tool_call_streamed(olga: Olga, model: str) -> None:
    script_weather_call(olga, model)
    stream = await olga.openai().chat.completions.create(
        model=model, messages=HELLO, tools=[WEATHER_TOOL_OPENAI], stream=True
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    async for chunk in stream:
        assert chunk.choices, "a usage-only chunk leaked to a client that did not ask for it"
        for call in chunk.choices[0].delta.tool_calls or []:
            entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += call.id or ""
            entry["name"] += (call.function.name or "") if call.function else ""
            entry["arguments"] += (call.function.arguments or "") if call.function else ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert [(c["id"], c["name"], json.loads(c["arguments"])) for c in calls.values()] == [
        ("call_w1", "get_weather", {"city": "Paris"})
    ]


@BOTH
async def test_messages_create_and_tool_use(olga: Olga, model: str) -> None:
    message = await olga.anthropic().messages.create(model=model, max_tokens=200, messages=HELLO)
    assert message.content[0].type == "text" and message.content[0].text == ANSWER[model]
    assert (message.usage.input_tokens, message.usage.output_tokens) == USAGE[model]
    script_weather_call(olga, model)
    called = await olga.anthropic().messages.create(
        model=model, max_tokens=200, messages=HELLO, tools=[WEATHER_TOOL_ANTHROPIC]
    )
    assert called.stop_reason == "tool_use"
    assert [(b.type, b.name, b.input) for b in called.content if b.type == "tool_use"] == [
        ("tool_use", "get_weather", {"city": "Paris"})
    ]


@BOTH
async def test_messages_stream_final_message(olga: Olga, model: str) -> None:
    async with olga.anthropic().messages.stream(model=model, max_tokens=200, messages=HELLO) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
        generation_id = stream.response.headers["x-olga-generation-id"]
    assert text == ANSWER[model] and final.usage.output_tokens == USAGE[model][1]
    record = await olga.generation(generation_id)
    assert (
        record["cost"] == COST[model] and record["streamed"] is True and record["finish_reason"] == "end_turn"
    )


@BOTH
async def test_responses_create_and_stream(olga: Olga, model: str) -> None:
    if model == OPENAI_MODEL:
        olga.openai_fake.responses_usage = {
            "input_tokens": 12,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": 7,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 19,
        }
    client = olga.openai()
    response = await client.responses.create(model=model, input="Say hello", instructions="Be kind.")
    assert response.output_text == ANSWER[model] and response.status == "completed"
    assert (
        response.usage is not None
        and (response.usage.input_tokens, response.usage.output_tokens) == USAGE[model]
    )
    stream = await client.responses.create(model=model, input="Say hello", stream=True)
    events = [event async for event in stream]
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == ANSWER[model]
    assert [e.sequence_number for e in events] == list(range(len(events)))


# -- Chat Completions to an Anthropic provider, in detail ---------------------------------------


async def test_chat_to_anthropic_translates_the_request_and_meters_cache(olga: Olga) -> None:
    olga.anthropic_fake.reply(
        text="Bonjour",
        input_tokens=50,
        output_tokens=3,
        cache_read_input_tokens=200,
        cache_creation_input_tokens=40,
    )
    raw = await olga.openai().chat.completions.with_raw_response.create(
        model=ANTHROPIC_MODEL,
        messages=[
            {"role": "system", "content": "Speak French."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Hi"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                ],
            },
        ],
        temperature=0.2,
        stop="END",
        extra_headers={"x-olga-cache": "off"},  # the translation alone, without cache breakpoints
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "Bonjour"
    assert completion.usage is not None and completion.usage.prompt_tokens == 290
    details = completion.usage.prompt_tokens_details
    assert details is not None and (details.cached_tokens, details.cache_write_tokens) == (200, 40)
    path, headers, body = olga.anthropic_fake.requests[-1]
    assert path == "/v1/messages" and headers["x-api-key"] == "sk-ant-upstream-test-key"
    assert headers["anthropic-version"] == "2023-06-01"
    assert body["model"] == "claude-haiku-4-5" and body["system"] == "Speak French."
    assert body["max_tokens"] == 16384  # Anthropic requires it: the model's maximum, capped
    assert body["stop_sequences"] == ["END"] and body["temperature"] == 0.2
    assert body["messages"][0]["content"][1] == {
        "type": "image",
        "source": {"type": "url", "url": "https://example.com/cat.png"},
    }
    record = await olga.generation(raw.headers["x-olga-generation-id"])
    assert (record["tokens_prompt"], record["tokens_cached"], record["tokens_cache_write"]) == (290, 200, 40)
    assert record["cost"] == cost((50, "1"), (200, "0.1"), (40, "1.25"), (3, "5"))


async def test_chat_to_anthropic_stream_hides_usage_unless_asked(olga: Olga) -> None:
    stream = await olga.openai().chat.completions.create(model=ANTHROPIC_MODEL, messages=HELLO, stream=True)
    chunks = [chunk async for chunk in stream]
    assert all(chunk.choices for chunk in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == ANSWER[ANTHROPIC_MODEL]


async def test_chat_field_anthropic_cannot_express_is_a_400_naming_it(olga: Olga) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await olga.openai().chat.completions.create(model=ANTHROPIC_MODEL, messages=HELLO, logprobs=True)
    assert caught.value.param == "logprobs" and caught.value.code == "invalid_request"
    with pytest.raises(openai.BadRequestError) as nested:
        await olga.openai().chat.completions.create(
            model=ANTHROPIC_MODEL,
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}],
                }
            ],
        )
    assert nested.value.param == "messages[0].content[0].type"
    assert olga.anthropic_fake.requests == []


async def test_anthropic_errors_come_back_in_openai_shape(olga: Olga) -> None:
    olga.anthropic_fake.fail(400, message="messages: roles must alternate")
    with pytest.raises(openai.BadRequestError) as caught:
        await olga.openai().chat.completions.create(model=ANTHROPIC_MODEL, messages=HELLO)
    assert caught.value.body == {
        "message": "messages: roles must alternate",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_request_error",
    }


# -- LangChain ----------------------------------------------------------------------------------


@BOTH
async def test_langchain_chat_openai_invoke_and_stream(olga: Olga, model: str) -> None:
    llm = ChatOpenAI(model=model, base_url=olga.running.v1, api_key=olga.key, max_retries=0)  # type: ignore[arg-type]
    answer = await llm.ainvoke("Say hello")
    assert answer.content == ANSWER[model]
    assert answer.usage_metadata is not None and answer.usage_metadata["output_tokens"] == USAGE[model][1]
    pieces: list[Any] = []
    async for chunk in llm.astream("Say hello"):
        assert isinstance(chunk, AIMessageChunk)
        pieces.append(chunk.content)
    assert "".join(pieces) == ANSWER[model]


# -- embeddings ---------------------------------------------------------------------------------


async def test_embeddings_are_metered_by_input_tokens(olga: Olga) -> None:
    raw = await olga.openai().embeddings.with_raw_response.create(
        model="openai/text-embedding-3-small", input=["one two three", "four five"]
    )
    result = raw.parse()
    assert len(result.data) == 2 and result.usage.prompt_tokens == 5
    record = await olga.generation(raw.headers["x-olga-generation-id"])
    assert (record["tokens_prompt"], record["tokens_completion"]) == (5, 0)
    assert record["cost"] == cost((5, "0.02"))


async def test_embeddings_from_an_anthropic_model_are_a_clear_400(olga: Olga) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await olga.openai().embeddings.create(model=ANTHROPIC_MODEL, input="x")
    assert "anthropic" in caught.value.message

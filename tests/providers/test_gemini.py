"""Gemini's native API from every caller API: the fake is first checked against Google's own
``google-genai`` SDK, then olga serves Chat Completions, Messages and Responses callers from it,
streamed and not, with tool calls, usage, cached and thinking tokens priced exactly."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from anthropic import AsyncAnthropic
from google import genai
from google.genai import types
from openai import AsyncOpenAI, BadRequestError, NotFoundError

from tests.cli.terminal import olga_async
from tests.fakes.gateway import RunningGateway, start_gateway
from tests.fakes.gemini_upstream import FakeGemini, GeminiReply

MODEL = "gemini/gemini-2.5-flash"  # $0.30/M input, $0.03/M cached, $2.50/M output (thinking included)


@pytest.fixture
async def fake_gemini() -> AsyncIterator[FakeGemini]:
    fake = await FakeGemini().start()
    yield fake
    await fake.close()


@pytest.fixture
async def olga_gemini(home: Path, fake_gemini: FakeGemini, api_key: str) -> AsyncIterator[RunningGateway]:
    added = await olga_async(
        "providers", "add", "gemini", "--base-url", fake_gemini.url + "/v1beta", "--api-key", fake_gemini.key
    )
    assert added.exit_code == 0, added.output
    running = await start_gateway(home)
    yield running
    await running.close()


async def _record(gen: str) -> dict[str, Any]:
    return dict(json.loads((await olga_async("generation", gen, "--json")).stdout))


# -- the fake, as Google's SDK sees it -------------------------------------------------------------


async def test_the_fake_speaks_what_the_google_genai_sdk_sends(fake_gemini: FakeGemini) -> None:
    options = types.HttpOptions(base_url=fake_gemini.url, api_version="v1beta")  # the version olga calls
    client = genai.Client(api_key=fake_gemini.key, http_options=options)
    fake_gemini.replies.append(GeminiReply(thoughts_tokens=9, cached_tokens=4))
    reply = await client.aio.models.generate_content(
        model="gemini-2.5-flash",
        contents="hi",
        config=types.GenerateContentConfig(
            system_instruction="Be brief.",
            max_output_tokens=50,
            thinking_config=types.ThinkingConfig(thinking_budget=64),
        ),
    )
    assert reply.text == "Hello from the fake Gemini."
    assert reply.usage_metadata is not None
    assert (
        reply.usage_metadata.thoughts_token_count == 9
        and reply.usage_metadata.cached_content_token_count == 4
    )
    seen = fake_gemini.last
    assert seen.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert seen.headers["x-goog-api-key"] == fake_gemini.key
    text = ""
    async for chunk in await client.aio.models.generate_content_stream(
        model="gemini-2.5-flash", contents="hi"
    ):
        text += chunk.text or ""
    assert text == "Hello from the fake Gemini."
    assert fake_gemini.last.query == {"alt": "sse"}
    fake_gemini.replies.append(GeminiReply(text="", calls=[("get_weather", {"city": "Paris"})]))
    called = await client.aio.models.generate_content(model="gemini-2.5-flash", contents="weather?")
    assert called.function_calls and called.function_calls[0].args == {"city": "Paris"}


async def test_the_fake_refuses_what_the_real_api_refuses(fake_gemini: FakeGemini) -> None:
    url = fake_gemini.url + "/v1beta/models/gemini-2.5-flash:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json=body) as response:
            assert (
                response.status == 403 and (await response.json())["error"]["status"] == "PERMISSION_DENIED"
            )
        headers = {"x-goog-api-key": fake_gemini.key}
        wrong = {**body, "generationConfig": {"maxTokens": 5}}
        async with http.post(url, json=wrong, headers=headers) as response:
            error = (await response.json())["error"]
            assert response.status == 400 and 'Unknown name "maxTokens"' in error["message"]
        async with http.post(url.replace("2.5-flash", "0-nope"), json=body, headers=headers) as response:
            assert response.status == 404
        assistant = {"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}
        async with http.post(url, json=assistant, headers=headers) as response:
            assert response.status == 400 and "valid role" in (await response.json())["error"]["message"]


# -- through olga ------------------------------------------------------------------------------------


async def test_chat_completions_to_gemini_with_usage_cache_and_thinking_priced(
    olga_gemini: RunningGateway, fake_gemini: FakeGemini, api_key: str
) -> None:
    client = AsyncOpenAI(base_url=olga_gemini.v1, api_key=api_key, max_retries=0)
    fake_gemini.replies.append(
        GeminiReply(prompt_tokens=14, cached_tokens=4, candidates_tokens=6, thoughts_tokens=10)
    )
    raw = await client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        max_tokens=100,
        temperature=0.2,
        stop=["END"],
        reasoning_effort="low",
    )
    reply = raw.parse()
    assert reply.choices[0].message.content == "Hello from the fake Gemini."
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.completion_tokens == 16
    assert reply.usage.completion_tokens_details.reasoning_tokens == 10  # type: ignore[union-attr]
    assert reply.usage.prompt_tokens_details.cached_tokens == 4  # type: ignore[union-attr]
    sent = fake_gemini.last
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent.headers["x-goog-api-key"] == fake_gemini.key and "Authorization" not in sent.headers
    assert sent.body == {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {
            "maxOutputTokens": 100,
            "temperature": 0.2,
            "stopSequences": ["END"],
            "thinkingConfig": {"thinkingBudget": 1024},
        },
    }
    record = await _record(raw.headers["x-olga-generation-id"])
    assert (record["tokens_prompt"], record["tokens_cached"], record["tokens_completion"]) == (14, 4, 16)
    assert record["tokens_reasoning"] == 10 and record["provider"] == "gemini"
    expected = (10 * Decimal("0.3") + 4 * Decimal("0.03") + 16 * Decimal("2.5")) / 10**6
    assert Decimal(record["cost"]) == expected


async def test_chat_stream_from_gemini(
    olga_gemini: RunningGateway, fake_gemini: FakeGemini, api_key: str
) -> None:
    client = AsyncOpenAI(base_url=olga_gemini.v1, api_key=api_key, max_retries=0)
    fake_gemini.replies.append(GeminiReply(thoughts_tokens=3))
    stream = await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [c async for c in stream]
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == "Hello from the fake Gemini."
    )
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "stop"
    ]
    usage = chunks[-1].usage
    assert usage is not None and usage.prompt_tokens == 14 and usage.completion_tokens == 9
    assert fake_gemini.last.path.endswith(":streamGenerateContent") and fake_gemini.last.query == {
        "alt": "sse"
    }
    plain = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert all([c.usage is None async for c in plain])


async def test_tool_calls_round_trip_with_their_thought_signature(
    olga_gemini: RunningGateway, fake_gemini: FakeGemini, api_key: str
) -> None:
    client = AsyncOpenAI(base_url=olga_gemini.v1, api_key=api_key, max_retries=0)
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather in a city.",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    fake_gemini.replies.append(
        GeminiReply(text="", calls=[("get_weather", {"city": "Paris"})], signature="c2lnbmF0dXJl")
    )
    first = await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=tools,
        tool_choice="required",
    )
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    sent = fake_gemini.last.body
    assert sent["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Weather in a city.",
                    "parametersJsonSchema": tools[0]["function"]["parameters"],
                }
            ]
        }
    ]
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    history: Any = [
        {"role": "user", "content": "Weather in Paris?"},
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 21}'},
    ]
    second = await client.chat.completions.create(model=MODEL, messages=history, tools=tools)
    assert second.choices[0].message.content == "Hello from the fake Gemini."
    turns = fake_gemini.last.body["contents"]
    assert [t["role"] for t in turns] == ["user", "model", "user"]
    assert turns[1]["parts"] == [
        {
            "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
            "thoughtSignature": "c2lnbmF0dXJl",
        }
    ]
    assert turns[2]["parts"] == [{"functionResponse": {"name": "get_weather", "response": {"temp_c": 21}}}]


async def test_messages_callers_reach_gemini(
    olga_gemini: RunningGateway, fake_gemini: FakeGemini, api_key: str
) -> None:
    client = AsyncAnthropic(base_url=olga_gemini.url, api_key=api_key, max_retries=0)
    message = await client.messages.create(
        model=MODEL, max_tokens=64, system="Be brief.", messages=[{"role": "user", "content": "hi"}]
    )
    assert message.content[0].text == "Hello from the fake Gemini."  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn" and message.usage.input_tokens == 14
    sent = fake_gemini.last.body
    assert sent["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert sent["generationConfig"]["maxOutputTokens"] == 64
    await client.messages.create(  # thinking becomes a thinking budget (the catalog says it reasons)
        model=MODEL,
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 2048},
        messages=[{"role": "user", "content": "hi"}],
    )
    assert fake_gemini.last.body["generationConfig"]["thinkingConfig"]["thinkingBudget"] > 0
    async with client.messages.stream(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
    assert text == "Hello from the fake Gemini." and final.usage.output_tokens == 6


async def test_responses_callers_reach_gemini(
    olga_gemini: RunningGateway, fake_gemini: FakeGemini, api_key: str
) -> None:
    client = AsyncOpenAI(base_url=olga_gemini.v1, api_key=api_key, max_retries=0)
    fake_gemini.replies.append(GeminiReply(thoughts_tokens=5))
    response = await client.responses.create(model=MODEL, input="hi", instructions="Be brief.")
    assert response.output_text == "Hello from the fake Gemini."
    assert response.usage is not None and response.usage.output_tokens_details.reasoning_tokens == 5
    assert fake_gemini.last.body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    stream = await client.responses.create(model=MODEL, input="hi", stream=True)
    events = [e async for e in stream]
    assert (
        "".join(e.delta for e in events if e.type == "response.output_text.delta")
        == "Hello from the fake Gemini."
    )
    done = events[-1]
    assert done.type == "response.completed" and done.response.usage is not None
    assert done.response.usage.input_tokens == 14


async def test_structured_output_and_gemini_errors_in_the_callers_shape(
    olga_gemini: RunningGateway, fake_gemini: FakeGemini, api_key: str
) -> None:
    client = AsyncOpenAI(base_url=olga_gemini.v1, api_key=api_key, max_retries=0)
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}],
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
    )
    config = fake_gemini.last.body["generationConfig"]
    assert config["responseMimeType"] == "application/json" and config["responseJsonSchema"] == schema
    with pytest.raises(BadRequestError) as refused:  # going on would answer without what was asked
        await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}], logprobs=True
        )
    assert "logprobs" in str(refused.value) and "Gemini" in str(refused.value)
    raw = await client.chat.completions.with_raw_response.create(  # hints go, and are listed
        model=MODEL,
        messages=[{"role": "user", "content": "hi", "name": "ada"}],
        logit_bias={"1": 5},
        user="u1",
    )
    assert {d.strip() for d in raw.headers["x-olga-dropped"].split(",")} == {
        "logit_bias",
        "user",
        "messages.name",
    }
    assert set(fake_gemini.last.body) == {"contents"}
    with pytest.raises(NotFoundError) as missing:  # Gemini's own 404, in OpenAI's error shape
        await client.chat.completions.create(
            model="gemini/gemini-3.5-flash", messages=[{"role": "user", "content": "hi"}]
        )
    assert "is not found for API version v1beta" in str(missing.value)

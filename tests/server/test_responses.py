"""The OpenAI Responses API through olga: passed through to OpenAI (ids kept, so previous_response_id,
retrieve and delete work), translated for providers that speak Chat Completions or Messages."""

from __future__ import annotations

import aiohttp
import openai
import pytest

from tests.fakes.anthropic_upstream import ToolUse
from tests.fakes.gateway import mint_key
from tests.fakes.openai_upstream import Script, error_body
from tests.server.translation_support import Olga, cost, fake_anthropic, olga

__all__ = ["fake_anthropic", "olga"]  # fixtures

MODEL = "openai/gpt-5-mini"
GPT5_MINI = {"input": "0.25", "read": "0.025", "output": "2"}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


async def test_create_is_passed_through_and_metered_with_cached_input(olga: Olga) -> None:
    raw = await olga.openai().responses.with_raw_response.create(
        model=MODEL, input="Say hello", instructions="Be kind.", store=True, extra_body={"models": [MODEL]}
    )
    response = raw.parse()
    assert response.output_text == "Hello from the fake provider."
    assert response.id.startswith("resp_fake") and response.model == "gpt-5-mini-2025-08-07"
    sent = olga.openai_fake.last
    assert sent.path == "/v1/responses" and sent.headers["Authorization"] == "Bearer sk-upstream-test-key"
    assert sent.body == {
        "model": "gpt-5-mini",
        "input": "Say hello",
        "instructions": "Be kind.",
        "store": True,
    }
    record = await olga.generation(response.id)  # found by the provider's id too
    assert record["id"] == raw.headers["x-olga-generation-id"] and record["upstream_id"] == response.id
    assert (record["tokens_prompt"], record["tokens_cached"], record["tokens_completion"]) == (20, 8, 5)
    assert record["finish_reason"] == "stop" and record["endpoint"] == "/v1/responses"
    assert record["cost"] == cost((12, GPT5_MINI["input"]), (8, GPT5_MINI["read"]), (5, GPT5_MINI["output"]))


async def test_stream_is_relayed_event_by_event_with_usage_from_completed(olga: Olga) -> None:
    async with olga.openai().responses.stream(model=MODEL, input="Say hello") as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
        generation_id = stream._response.headers["x-olga-generation-id"]  # type: ignore[attr-defined]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-1] == "response.completed"
    assert final.output_text == "Hello from the fake provider."
    record = await olga.generation(generation_id)
    assert record["streamed"] is True and record["upstream_id"] == final.id
    assert (record["tokens_prompt"], record["tokens_cached"], record["tokens_completion"]) == (20, 8, 5)


async def test_previous_response_id_retrieve_and_delete_reach_the_provider(olga: Olga) -> None:
    client = olga.openai()
    first = await client.responses.create(model=MODEL, input="Remember 7.")
    second = await client.responses.create(model=MODEL, input="What number?", previous_response_id=first.id)
    assert olga.openai_fake.last.body["previous_response_id"] == first.id
    assert second.previous_response_id == first.id
    fetched = await client.responses.retrieve(first.id)
    assert fetched.id == first.id and fetched.output_text == first.output_text
    assert olga.openai_fake.last.path == f"/v1/responses/{first.id}"
    assert olga.openai_fake.last.headers["Authorization"] == "Bearer sk-upstream-test-key"
    await client.responses.delete(first.id)
    assert first.id not in olga.openai_fake.stored
    with pytest.raises(openai.NotFoundError) as gone:  # the provider's own 404, as it came
        await client.responses.retrieve(first.id)
    assert "not found" in gone.value.message


async def test_stored_responses_belong_to_the_key_that_made_them(olga: Olga) -> None:
    made = await olga.openai().responses.create(model=MODEL, input="secret")
    await olga.running.refresh()
    _, other_key = await mint_key(olga.running.home, name="other")
    await olga.running.refresh()
    with pytest.raises(openai.NotFoundError) as caught:
        await olga.openai(api_key=other_key).responses.retrieve(made.id)
    assert caught.value.code == "not_found"
    with pytest.raises(openai.AuthenticationError):
        await olga.openai(api_key="sk-olga-bad").responses.delete(made.id)
    assert made.id in olga.openai_fake.stored
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{olga.running.v1}/openai/responses/{made.id}", headers={"Authorization": f"Bearer {olga.key}"}
        ) as reply,
    ):
        assert reply.status == 200 and (await reply.json())["id"] == made.id  # pinned to its provider


async def test_provider_errors_pass_through(olga: Olga) -> None:
    olga.openai_fake.script(
        Script(status=400, body=error_body("Unknown parameter: 'foo'.", code="unknown_parameter"))
    )
    with pytest.raises(openai.BadRequestError) as caught:
        await olga.openai().responses.create(model=MODEL, input="x", extra_body={"foo": 1})
    assert caught.value.code == "unknown_parameter"


# -- translated: providers that speak Chat Completions or Messages -------------------------------


async def test_mock_echo_answers_the_responses_api(olga: Olga) -> None:
    client = olga.openai()
    response = await client.responses.create(model="mock/echo", input="ping pong")
    assert response.output_text == "ping pong" and response.status == "completed"
    stream = await client.responses.create(model="mock/echo", input="one two three", stream=True)
    events = [event async for event in stream]
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "one two three"
    assert events[-1].type == "response.completed" and events[-1].response.usage is not None
    assert events[-1].response.usage.output_tokens == 3


async def test_responses_to_anthropic_with_a_function_call(olga: Olga) -> None:
    olga.anthropic_fake.reply(
        text=None,
        tool_uses=[ToolUse("get_weather", {"city": "Paris"}, id="toolu_1")],
        input_tokens=30,
        cache_read_input_tokens=10,
        output_tokens=9,
    )
    raw = await olga.openai().responses.with_raw_response.create(
        model="anthropic/claude-haiku-4-5", input="Weather in Paris?", tools=[WEATHER], max_output_tokens=500
    )
    response = raw.parse()
    calls = [item for item in response.output if item.type == "function_call"]
    assert [(c.name, c.arguments, c.call_id) for c in calls] == [
        ("get_weather", '{"city":"Paris"}', "toolu_1")
    ]
    body = olga.anthropic_fake.requests[-1][2]
    assert body["max_tokens"] == 500 and body["tools"][0]["name"] == "get_weather"
    record = await olga.generation(raw.headers["x-olga-generation-id"])
    assert record["finish_reason"] == "tool_calls" and record["provider"] == "anthropic"
    assert (record["tokens_prompt"], record["tokens_cached"], record["tokens_completion"]) == (40, 10, 9)
    assert record["cost"] == cost((30, "1"), (10, "0.1"), (9, "5"))


async def test_translated_stream_to_anthropic_is_metered(olga: Olga) -> None:
    async with olga.openai().responses.stream(model="anthropic/claude-haiku-4-5", input="Hi") as stream:
        async for _ in stream:
            pass
        final = await stream.get_final_response()
        generation_id = stream._response.headers["x-olga-generation-id"]  # type: ignore[attr-defined]
    assert final.output_text == "Hello from the fake Anthropic."
    record = await olga.generation(generation_id)
    assert record["streamed"] is True and (record["tokens_prompt"], record["tokens_completion"]) == (12, 7)
    assert record["cost"] == cost((12, "1"), (7, "5"))


async def test_state_kept_at_openai_cannot_be_translated(olga: Olga) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await olga.openai().responses.create(model="mock/echo", input="x", previous_response_id="resp_123")
    assert caught.value.param == "previous_response_id"
    assert "Chat Completions" in caught.value.message


async def test_a_built_in_tool_the_target_lacks_is_withheld_and_the_request_goes_on(olga: Olga) -> None:
    raw = await olga.openai().responses.with_raw_response.create(
        model="anthropic/claude-haiku-4-5", input="x", tools=[{"type": "web_search_preview"}]
    )
    response = raw.parse()
    assert response.output_text
    assert raw.headers["x-olga-dropped"] == "tools.web_search"
    assert "tools" not in olga.anthropic_fake.requests[-1][2]


async def test_a_translated_response_is_not_stored(olga: Olga) -> None:
    made = await olga.openai().responses.create(model="mock/echo", input="hello")
    with pytest.raises(openai.NotFoundError) as caught:
        await olga.openai().responses.retrieve(made.id)
    assert "keeps no stored copy" in caught.value.message

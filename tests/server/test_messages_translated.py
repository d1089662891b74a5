"""The Anthropic SDK through olga to providers that speak Chat Completions: OpenAI and the built-in mock.

The request is translated to Chat, the answer and the stream back to Messages, the provider's errors
into Anthropic's shape; a field that Chat cannot express is a 400 that names it.
"""

from __future__ import annotations

import anthropic
import pytest

from tests.fakes.openai_upstream import Script, ToolCall, error_body
from tests.server.translation_support import HELLO, WEATHER_TOOL_ANTHROPIC, Olga, cost, fake_anthropic, olga

__all__ = ["fake_anthropic", "olga"]  # fixtures

MODEL = "openai/gpt-4o-mini"
MINI = {"input": "0.15", "output": "0.6"}


async def test_readme_quickstart_works_offline_against_mock_echo(olga: Olga) -> None:
    message = await olga.anthropic().messages.create(
        model="mock/echo", max_tokens=100, messages=[{"role": "user", "content": "Hello"}]
    )
    assert message.content[0].type == "text" and message.content[0].text == "Hello"
    assert message.stop_reason == "end_turn" and message.usage.output_tokens == 1


async def test_mock_echo_streams_as_anthropic_events(olga: Olga) -> None:
    async with olga.anthropic().messages.stream(
        model="mock/echo", max_tokens=100, messages=[{"role": "user", "content": "one two three"}]
    ) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(pieces) == "one two three" and len(pieces) == 3
    assert final.usage.output_tokens == 3 and final.stop_reason == "end_turn"


async def test_create_is_translated_to_chat_and_back(olga: Olga) -> None:
    raw = await olga.anthropic().messages.with_raw_response.create(
        model=MODEL,
        max_tokens=300,
        system="Be brief.",
        messages=HELLO,
        stop_sequences=["END"],
        metadata={"user_id": "user-7"},
    )
    message = await raw.parse()
    assert message.content[0].type == "text" and message.content[0].text == "Hello from the fake provider."
    assert message.stop_reason == "end_turn" and message.role == "assistant"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (12, 7)
    sent = olga.openai_fake.last
    assert (
        sent.path == "/v1/chat/completions" and sent.headers["Authorization"] == "Bearer sk-upstream-test-key"
    )
    assert sent.body == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello"}],
        "max_completion_tokens": 300,
        "stop": ["END"],
        "user": "user-7",
    }
    record = await olga.generation(raw.headers["x-olga-generation-id"])
    assert record["endpoint"] == "/v1/messages" and record["provider"] == "openai"
    assert record["finish_reason"] == "end_turn" and record["upstream_id"].startswith("chatcmpl-fake")
    assert (record["tokens_prompt"], record["tokens_completion"]) == (12, 7)
    assert record["cost"] == cost((12, MINI["input"]), (7, MINI["output"])) == "0.000006"


async def test_stream_is_a_valid_anthropic_stream_with_usage(olga: Olga) -> None:
    async with olga.anthropic().messages.stream(model=MODEL, max_tokens=300, messages=HELLO) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
        generation_id = stream.response.headers["x-olga-generation-id"]
    assert "".join(pieces) == "Hello from the fake provider."
    assert final.usage.output_tokens == 7 and final.stop_reason == "end_turn"
    # olga asks the Chat provider for the usage chunk itself.
    assert olga.openai_fake.last.body["stream_options"] == {"include_usage": True}
    record = await olga.generation(generation_id)
    assert record["streamed"] is True and record["usage_estimated"] is False
    assert record["cost"] == "0.000006" and record["finish_reason"] == "end_turn"


async def test_parallel_tool_calls_become_tool_use_blocks(olga: Olga) -> None:
    calls = [
        ToolCall("get_weather", {"city": "Paris"}, id="call_a"),
        ToolCall("get_weather", {"city": "Rome"}, id="call_b"),
    ]
    olga.openai_fake.script(Script(tool_calls=calls))
    message = await olga.anthropic().messages.create(
        model=MODEL,
        max_tokens=100,
        tools=[WEATHER_TOOL_ANTHROPIC],
        tool_choice={"type": "any"},
        messages=HELLO,
    )
    assert message.stop_reason == "tool_use"
    assert [(b.type, b.id, b.input) for b in message.content if b.type == "tool_use"] == [
        ("tool_use", "call_a", {"city": "Paris"}),
        ("tool_use", "call_b", {"city": "Rome"}),
    ]
    sent = olga.openai_fake.last.body
    assert sent["tool_choice"] == "required"
    assert sent["tools"][0]["function"]["name"] == "get_weather"

    olga.openai_fake.script(Script(tool_calls=calls))
    async with olga.anthropic().messages.stream(
        model=MODEL, max_tokens=100, tools=[WEATHER_TOOL_ANTHROPIC], messages=HELLO
    ) as stream:
        final = await stream.get_final_message()
    assert [(b.type, b.input) for b in final.content] == [
        ("tool_use", {"city": "Paris"}),
        ("tool_use", {"city": "Rome"}),
    ]
    assert final.stop_reason == "tool_use"


async def test_tool_results_go_back_as_tool_messages(olga: Olga) -> None:
    await olga.anthropic().messages.create(
        model=MODEL,
        max_tokens=100,
        tools=[WEATHER_TOOL_ANTHROPIC],
        messages=[
            {"role": "user", "content": "Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {"city": "Paris"}}
                ],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_a", "content": "18C"}]},
        ],
    )
    messages = olga.openai_fake.last.body["messages"]
    assert messages[1]["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"city":"Paris"}',
    }
    assert messages[2] == {"role": "tool", "tool_call_id": "call_a", "content": "18C"}


async def test_hints_chat_cannot_express_are_dropped_and_named_in_the_header_and_record(olga: Olga) -> None:
    raw = await olga.anthropic().messages.with_raw_response.create(
        model=MODEL,
        max_tokens=100,
        messages=HELLO,
        thinking={"type": "enabled", "budget_tokens": 1024},
        extra_body={
            "top_k": 3,
            "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        },
    )
    message = await raw.parse()
    assert message.content[0].type == "text"
    # gpt-4o-mini does not reason (catalog), so thinking has nowhere to go: dropped, not refused.
    assert raw.headers["x-olga-dropped"] == "top_k, context_management, thinking"
    sent = olga.openai_fake.last.body
    assert not {"thinking", "top_k", "context_management", "reasoning_effort"} & set(sent)
    record = await olga.generation(raw.headers["x-olga-generation-id"])
    assert record["dropped"] == ["top_k", "context_management", "thinking"]


async def test_a_field_whose_loss_would_give_a_wrong_answer_is_a_400_naming_it(olga: Olga) -> None:
    status, _, body = await olga.post(
        "/v1/messages",
        {
            "model": MODEL,
            "max_tokens": 5,
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image", "source": {"type": "file", "file_id": "file_1"}}],
                }
            ],
        },
    )
    # An image uploaded to Anthropic's Files API cannot be read by another provider: going on would
    # answer without the image.
    assert status == 400 and b"messages[0].content[0].source.type" in body and b"Chat Completions" in body
    assert olga.openai_fake.requests == []


async def test_provider_errors_come_back_in_anthropic_shape(olga: Olga) -> None:
    olga.openai_fake.script(
        Script(status=400, body=error_body("Invalid 'messages[0].content': too long.", code="invalid_value"))
    )
    with pytest.raises(anthropic.BadRequestError) as caught:
        await olga.anthropic().messages.create(model=MODEL, max_tokens=100, messages=HELLO)
    assert caught.value.body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "Invalid 'messages[0].content': too long.",
            "code": "invalid_value",
        },
    }


async def test_a_stream_the_provider_breaks_off_ends_with_an_anthropic_error_event(olga: Olga) -> None:
    olga.openai_fake.script(Script(cut_after=2))
    with pytest.raises(anthropic.APIStatusError) as caught:
        async with olga.anthropic().messages.stream(model=MODEL, max_tokens=100, messages=HELLO) as stream:
            generation_id = stream.response.headers["x-olga-generation-id"]
            async for _ in stream:
                pass
    assert "broke off" in str(caught.value)
    record = await olga.generation(generation_id)
    assert record["status"] == 502 and record["error"] == "upstream_error" and record["streamed"] is True
    assert record["tokens_completion"] > 0  # what was streamed is counted (estimated: no usage came)

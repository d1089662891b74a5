"""Stream translation, checked by the official SDKs: realistic provider streams, cut into arbitrary
network chunks, go through SSEParser and a translator; the SDK's own stream decoder and accumulator
must accept the output and rebuild the right final message."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from olga_cli.providers.chat_to_messages import MessagesStreamToChat
from olga_cli.providers.messages_to_chat import ChatStreamToMessages
from olga_cli.providers.reasoning import decode_thinking
from olga_cli.providers.responses_to_chat import ChatStreamToResponses
from olga_cli.providers.responses_to_messages import MessagesStreamToResponses
from olga_cli.providers.translate import stream_translator
from olga_cli.providers.usage import Usage
from tests.fakes.anthropic_upstream import Reply, ToolUse, stream_events
from tests.unit.translate.provider_streams import ChatCall, ChatScript, chat_stream
from tests.unit.translate.sdk_streams import (
    anthropic_final_message,
    openai_chat_chunks,
    openai_final_completion,
    openai_final_response,
    parse_events,
    run_translator,
    split,
)

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
tool_inputs = st.dictionaries(st.text(min_size=1, max_size=6), json_values, max_size=3)
names = st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True)
cuts = st.lists(st.integers(0, 5000), max_size=12)


def anthropic_raw(reply: Reply) -> bytes:
    return b"".join(stream_events(reply, model="claude-haiku-4-5-20251001"))


# ------------------------------------------------------------------ Anthropic provider -> Chat caller


@FAST
@given(
    text=texts,
    tools=st.lists(st.tuples(names, tool_inputs), max_size=3),
    thinking=st.none() | texts.map(lambda t: "private-thought " + t),
    cache_read=st.integers(0, 50),
    cache_write=st.integers(0, 50),
    cut=cuts,
)
def test_anthropic_stream_to_chat_is_rebuilt_by_the_openai_sdk(
    text: str,
    tools: list[tuple[str, dict[str, Any]]],
    thinking: str | None,
    cache_read: int,
    cache_write: int,
    cut: list[int],
) -> None:
    reply = Reply(
        text=text or None,
        tool_uses=[ToolUse(n, i) for n, i in tools],
        thinking=thinking,
        input_tokens=40,
        output_tokens=11,
        cache_read_input_tokens=cache_read,
        cache_creation_input_tokens=cache_write,
        text_chunk=3,
        json_chunk=4,
    )
    raw = anthropic_raw(reply)
    translator = MessagesStreamToChat("anthropic/claude-haiku-4-5", include_usage=True)
    out = run_translator(translator, split(raw, cut))

    completion = openai_final_completion(out)
    message = completion.choices[0].message
    assert (message.content or "") == text
    assert [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []] == tools
    assert completion.choices[0].finish_reason == ("tool_calls" if tools else "stop")
    assert completion.model == "anthropic/claude-haiku-4-5"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 40 + cache_read + cache_write
    assert completion.usage.completion_tokens == 11
    assert (
        completion.usage.prompt_tokens_details.cached_tokens if completion.usage.prompt_tokens_details else 0
    ) == cache_read
    assert out.endswith(b"data: [DONE]\n\n")
    # What the gateway records:
    assert translator.usage == Usage(40 + cache_read + cache_write, 11, cache_read, cache_write)
    assert translator.text == text and translator.finish_reason == completion.choices[0].finish_reason
    assert translator.upstream_id == completion.id
    assert "private-thought" not in out.decode()


def test_chat_stream_without_include_usage_has_no_usage_chunk() -> None:
    raw = anthropic_raw(Reply(text="Hello"))
    out = run_translator(MessagesStreamToChat("m", include_usage=False), [raw])
    chunks = openai_chat_chunks(out)
    assert all(chunk.usage is None and chunk.choices for chunk in chunks)
    assert "usage" not in out.decode()
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello"


def test_chat_stream_with_include_usage_ends_with_a_choiceless_usage_chunk() -> None:
    out = run_translator(MessagesStreamToChat("m", include_usage=True), [anthropic_raw(Reply(text="Hi"))])
    chunks = openai_chat_chunks(out)
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert all(chunk.usage is None for chunk in chunks[:-1])
    assert chunks[0].choices[0].delta.role == "assistant"


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [("max_tokens", "length"), ("stop_sequence", "stop"), ("refusal", "content_filter")],
)
def test_stream_stop_reasons(stop_reason: str, finish: str) -> None:
    out = run_translator(
        MessagesStreamToChat("m", True), [anthropic_raw(Reply(text="x", stop_reason=stop_reason))]
    )
    assert openai_chat_chunks(out)[-2].choices[0].finish_reason == finish


def test_anthropic_error_event_mid_stream_raises_in_the_openai_sdk() -> None:
    raw = anthropic_raw(
        Reply(text="partial answer", stream_error={"type": "overloaded_error", "message": "Overloaded"})
    )
    translator = MessagesStreamToChat("m", include_usage=True)
    out = run_translator(translator, [raw])
    assert translator.error == {"type": "overloaded_error", "message": "Overloaded"}
    assert b"[DONE]" not in out
    with pytest.raises(openai.APIError, match="Overloaded"):
        openai_final_completion(out)


# ------------------------------------------------------------------ Chat provider -> Anthropic caller


@FAST
@given(
    text=texts, calls=st.lists(st.tuples(names, tool_inputs), max_size=3), cached=st.integers(0, 20), cut=cuts
)
def test_chat_stream_to_anthropic_is_rebuilt_by_the_anthropic_sdk(
    text: str, calls: list[tuple[str, dict[str, Any]]], cached: int, cut: list[int]
) -> None:
    script = ChatScript(
        text=text,
        calls=[ChatCall(n, a) for n, a in calls],
        finish_reason="tool_calls" if calls else "stop",
        prompt_tokens=30 + cached,
        completion_tokens=8,
        cached_tokens=cached,
        text_chunk=3,
        args_chunk=5,
    )
    translator = ChatStreamToMessages("openai/gpt-4o-mini")
    out = run_translator(translator, split(chat_stream(script), cut))

    message = anthropic_final_message(out)
    expected: list[tuple[str, Any]] = [("text", text)] if text else []
    expected += [("tool_use", (name, args)) for name, args in calls]
    got = [("text", b.text) if b.type == "text" else ("tool_use", (b.name, b.input)) for b in message.content]
    assert got == expected
    assert message.stop_reason == ("tool_use" if calls else "end_turn")
    assert message.model == "openai/gpt-4o-mini"
    assert (
        message.usage.input_tokens,
        message.usage.cache_read_input_tokens,
        message.usage.output_tokens,
    ) == (30, cached, 8)
    assert translator.usage == Usage(30 + cached, 8, cached)
    assert translator.text == text and translator.upstream_id == "chatcmpl-test123"
    events = [e.event for e in parse_events(out)]
    assert events[0] == "message_start" and events[-2:] == ["message_delta", "message_stop"]
    assert events.count("content_block_start") == events.count("content_block_stop") == len(expected)


def test_every_anthropic_event_name_matches_its_data_type() -> None:
    script = ChatScript(text="Hi", calls=[ChatCall("f", {"a": 1})], finish_reason="tool_calls")
    for event in parse_events(run_translator(ChatStreamToMessages("m"), [chat_stream(script)])):
        assert event.json()["type"] == event.event


@pytest.mark.parametrize(
    ("finish", "stop"), [("length", "max_tokens"), ("content_filter", "refusal"), ("stop", "end_turn")]
)
def test_chat_finish_reasons_become_stop_reasons_in_the_stream(finish: str, stop: str) -> None:
    translator = ChatStreamToMessages("m")
    out = run_translator(translator, [chat_stream(ChatScript(text="x", finish_reason=finish))])
    assert anthropic_final_message(out).stop_reason == stop == translator.finish_reason


def test_chat_refusal_stream_becomes_refusal_text() -> None:
    out = run_translator(ChatStreamToMessages("m"), [chat_stream(ChatScript(refusal="I can't help."))])
    message = anthropic_final_message(out)
    assert message.content[0].type == "text" and message.content[0].text == "I can't help."
    assert message.stop_reason == "refusal"


def test_chat_error_chunk_mid_stream_raises_in_the_anthropic_sdk() -> None:
    error = {
        "error": {"message": "The server had an error", "type": "server_error", "param": None, "code": None}
    }
    translator = ChatStreamToMessages("m")
    out = run_translator(translator, [chat_stream(ChatScript(text="partial", extra_chunks=[error]))])
    assert translator.error is not None
    assert out.count(b"event: error") == 1 and b"message_stop" not in out
    with pytest.raises(anthropic.APIStatusError, match="The server had an error"):
        anthropic_final_message(out)


def test_fail_closes_an_anthropic_stream_with_an_error_event() -> None:
    translator = ChatStreamToMessages("m")
    out = b"".join(translator.feed(parse_events(chat_stream(ChatScript(text="abc")))[1]))
    out += b"".join(translator.fail("upstream timed out", type="api_error"))
    assert translator.finish() == []
    with pytest.raises(anthropic.APIStatusError, match="upstream timed out"):
        anthropic_final_message(out)


# ------------------------------------------------------------------ Chat / Anthropic provider -> Responses caller

RESPONSES_REQUEST = {
    "model": "m",
    "input": "Weather?",
    "instructions": "Be brief.",
    "tools": [{"type": "function", "name": "w", "parameters": {"type": "object"}}],
}


def check_sequence_numbers(raw: bytes) -> list[dict[str, Any]]:
    events = [e.json() for e in parse_events(raw)]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    for event in parse_events(raw):
        assert event.event == event.json()["type"]
    return events


@FAST
@given(text=texts, calls=st.lists(st.tuples(names, tool_inputs), max_size=3), cut=cuts)
def test_chat_stream_to_responses_is_rebuilt_by_the_openai_sdk(
    text: str, calls: list[tuple[str, dict[str, Any]]], cut: list[int]
) -> None:
    script = ChatScript(
        text=text,
        calls=[ChatCall(n, a) for n, a in calls],
        finish_reason="tool_calls" if calls else "stop",
        prompt_tokens=50,
        completion_tokens=6,
        cached_tokens=10,
    )
    translator = ChatStreamToResponses("openai/gpt-4o-mini", RESPONSES_REQUEST)
    out = run_translator(translator, split(chat_stream(script), cut))

    response, _ = openai_final_response(out)
    assert response.status == "completed" and response.model == "openai/gpt-4o-mini"
    assert response.output_text == text
    got_calls = [
        (item.name, json.loads(item.arguments)) for item in response.output if item.type == "function_call"
    ]
    assert got_calls == calls
    assert response.usage is not None
    assert (
        response.usage.input_tokens,
        response.usage.output_tokens,
        response.usage.input_tokens_details.cached_tokens,
    ) == (50, 6, 10)
    assert response.instructions == "Be brief."
    kinds = [e["type"] for e in check_sequence_numbers(out)]
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    if text:
        assert (
            kinds.index("response.output_item.added")
            < kinds.index("response.content_part.added")
            < kinds.index("response.output_text.delta")
            < kinds.index("response.output_text.done")
            < kinds.index("response.content_part.done")
        )
    assert kinds.count("response.function_call_arguments.done") == len(calls)
    assert kinds.count("response.output_item.added") == kinds.count("response.output_item.done")


def test_anthropic_stream_to_responses_through_chat() -> None:
    reply = Reply(
        text="Sunny.",
        tool_uses=[ToolUse("w", {"city": "Paris"})],
        thinking="hidden",
        input_tokens=20,
        output_tokens=9,
        cache_read_input_tokens=5,
        cache_creation_input_tokens=7,
    )
    translator = MessagesStreamToResponses("anthropic/claude", RESPONSES_REQUEST)
    out = run_translator(translator, split(anthropic_raw(reply), range(0, 4000, 37)))
    response, _ = openai_final_response(out)
    assert response.output_text == "Sunny."
    assert [(i.name, json.loads(i.arguments)) for i in response.output if i.type == "function_call"] == [
        ("w", {"city": "Paris"})
    ]
    assert response.usage is not None and response.usage.input_tokens == 32
    assert response.usage.input_tokens_details.cache_write_tokens == 7
    assert translator.usage == Usage(32, 9, 5, 7) and translator.text == "Sunny."
    # The thinking block comes out first, as a reasoning item that carries it back on the next turn.
    reasoning = response.output[0]
    assert reasoning.type == "reasoning" and reasoning.summary[0].text == "hidden"
    assert decode_thinking(reasoning.encrypted_content) == {
        "type": "thinking",
        "thinking": "hidden",
        "signature": "sig-" + "a" * 16,
    }
    check_sequence_numbers(out)


def test_length_finish_makes_an_incomplete_response() -> None:
    out = run_translator(
        ChatStreamToResponses("m", {"input": "x"}),
        [chat_stream(ChatScript(text="abc", finish_reason="length"))],
    )
    events = check_sequence_numbers(out)
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_responses_stream_failure_sends_error_then_response_failed() -> None:
    error = {"error": {"message": "boom", "type": "server_error", "param": None, "code": "server_error"}}
    translator = ChatStreamToResponses("m", {"input": "x"})
    out = run_translator(translator, [chat_stream(ChatScript(text="partial", extra_chunks=[error]))])
    events = check_sequence_numbers(out)
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert events[-2]["message"] == "boom"
    assert (
        events[-1]["response"]["status"] == "failed" and events[-1]["response"]["error"]["message"] == "boom"
    )
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "partial"
    _, sdk_events = openai_final_response_events(out)
    assert [e.type for e in sdk_events[-2:]] == ["error", "response.failed"]


def openai_final_response_events(raw: bytes) -> tuple[None, list[Any]]:
    """The events the SDK yields for a stream that failed (it has no final response to give)."""
    import openai as sdk
    from openai._streaming import Stream
    from openai.lib.streaming.responses import ResponseStream
    from openai.types.responses.response_stream_event import ResponseStreamEvent

    from tests.unit.translate.sdk_streams import _response

    client = sdk.OpenAI(api_key="test", base_url="http://127.0.0.1:9/v1", max_retries=0)
    raw_stream = Stream(cast_to=ResponseStreamEvent, response=_response(raw, "/v1/responses"), client=client)  # type: ignore[arg-type]
    stream = ResponseStream(
        raw_stream=raw_stream, text_format=sdk.omit, input_tools=sdk.omit, starting_after=None
    )
    return None, list(stream)


# ------------------------------------------------------------------ the facade


@pytest.mark.parametrize(
    ("caller", "provider", "request_body", "raw", "check"),
    [
        (
            "chat",
            "messages",
            {"stream_options": {"include_usage": True}},
            anthropic_raw(Reply(text="Hey")),
            lambda out: openai_final_completion(out).choices[0].message.content == "Hey",
        ),
        (
            "messages",
            "chat",
            {},
            chat_stream(ChatScript(text="Hey")),
            lambda out: anthropic_final_message(out).content[0].text == "Hey",
        ),
        (
            "responses",
            "chat",
            {"input": "x"},
            chat_stream(ChatScript(text="Hey")),
            lambda out: openai_final_response(out)[0].output_text == "Hey",
        ),
        (
            "responses",
            "messages",
            {"input": "x"},
            anthropic_raw(Reply(text="Hey")),
            lambda out: openai_final_response(out)[0].output_text == "Hey",
        ),
    ],
)
def test_stream_translator_picks_the_translator_for_each_pair(
    caller: Any, provider: Any, request_body: dict[str, Any], raw: bytes, check: Any
) -> None:
    translator = stream_translator(caller=caller, provider=provider, model="m", request=request_body)
    assert check(run_translator(translator, [raw]))

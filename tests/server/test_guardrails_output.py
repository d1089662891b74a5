"""Output guardrails through the real gateway: whole answers and streams, same API and translated.

The fake OpenAI streams its reply in 4-character pieces, so a secret in the reply always arrives
split across chunks: the stream screener must hold back just enough to catch it whole.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest
from anthropic.types import RawContentBlockDeltaEvent, TextDelta

from olga_cli.store.db import open_store
from tests.fakes.openai_upstream import Script, ToolCall
from tests.server.guardrails_support import (
    EMAIL,
    OPENAI_KEY,
    add_guardrail,
    chat_text,
    events_of,
    messages_text,
    post_stream,
    stored_violations,
)
from tests.server.translation_support import Olga, fake_anthropic, olga

__all__ = ["fake_anthropic", "olga"]  # fixtures

CHAT_MODEL = "openai/gpt-4o-mini"
CLAUDE = "anthropic/claude-haiku-4-5"
ASK: Any = [{"role": "user", "content": "What is the deploy key?"}]
LEAK = f"Sure. The key is {OPENAI_KEY} and that is all."
MAILS = f"Write to {EMAIL} or to {EMAIL} again."


# -- whole answers --------------------------------------------------------------------------------


async def test_a_block_on_output_answers_422_and_still_charges_the_provider_usage(olga: Olga) -> None:
    await add_guardrail(olga.running, type="secrets", stage="output", action="block", name="no-leaks")
    olga.openai_fake.script(Script(reply=LEAK))
    client = olga.openai()
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        await client.chat.completions.create(model=CHAT_MODEL, messages=ASK)
    assert OPENAI_KEY not in caught.value.response.text
    error = caught.value.response.json()["error"]
    assert error["code"] == "guardrail_blocked"
    assert (
        "'no-leaks'" in error["message"]
        and "output" in error["message"]
        and "openai_api_key" in error["message"]
    )

    record = await olga.generation(caught.value.response.headers["x-olga-generation-id"])
    assert (record["status"], record["error"]) == (422, "guardrail_blocked")
    # The provider did the work: its usage (12 + 7 tokens) is metered and charged.
    assert (record["tokens_prompt"], record["tokens_completion"], record["usage_estimated"]) == (12, 7, False)
    assert record["cost"] != "0"
    assert [(g["stage"], g["entity"], g["action"], g["field"]) for g in record["guardrails"]] == [
        ("output", "openai_api_key", "block", "choices[0].message.content")
    ]


async def test_a_block_on_output_in_anthropic_shape(olga: Olga) -> None:
    await add_guardrail(olga.running, type="secrets", stage="output", action="block")
    olga.anthropic_fake.reply(text=LEAK)
    with pytest.raises(anthropic.UnprocessableEntityError) as caught:
        await olga.anthropic().messages.create(model=CLAUDE, max_tokens=64, messages=ASK)
    body = caught.value.response.json()
    assert body["error"]["code"] == "guardrail_blocked" and body["error"]["type"] == "invalid_request_error"
    assert OPENAI_KEY not in caught.value.response.text


async def test_output_redaction_on_a_whole_answer(olga: Olga) -> None:
    await add_guardrail(olga.running, type="pii", stage="output", action="redact", entities=("email",))
    olga.openai_fake.script(Script(reply=MAILS))
    answer = await olga.openai().chat.completions.create(model=CHAT_MODEL, messages=ASK)
    assert answer.choices[0].message.content == "Write to [EMAIL] or to [EMAIL] again."
    assert answer.usage is not None and answer.usage.completion_tokens == 7


async def test_output_redaction_on_a_translated_answer(olga: Olga) -> None:
    """Chat caller, Anthropic provider: screened after translation, in the caller's API."""
    await add_guardrail(olga.running, type="pii", stage="output", action="redact", entities=("email",))
    olga.anthropic_fake.reply(text=MAILS)
    answer = await olga.openai().chat.completions.create(model=CLAUDE, messages=ASK)
    assert answer.choices[0].message.content == "Write to [EMAIL] or to [EMAIL] again."


# -- streams --------------------------------------------------------------------------------------


async def test_a_secret_split_across_chunks_blocks_the_stream_with_an_error_event(olga: Olga) -> None:
    await add_guardrail(olga.running, type="secrets", stage="output", action="block", name="no-leaks")
    olga.openai_fake.script(Script(reply=LEAK))
    status, raw = await post_stream(
        olga.running.v1 + "/chat/completions",
        olga.key,
        {"model": CHAT_MODEL, "messages": ASK, "stream": True},
    )
    assert status == 200
    assert OPENAI_KEY.encode() not in raw and b"sk-proj" not in raw
    events = events_of(raw)
    assert chat_text(events).startswith("Sure. The key is")
    error = events[-2][1]["error"]
    assert error["code"] == "guardrail_blocked" and "'no-leaks'" in error["message"]
    assert "output" in error["message"] and "openai_api_key" in error["message"]
    assert events[-1][1] == "[DONE]"

    rows = await stored_violations(olga.running.home)
    assert [(r.stage, r.entity, r.action, r.field) for r in rows] == [
        ("output", "openai_api_key", "block", "choices[0].message.content")
    ]
    assert (rows[0].start, rows[0].end) == (LEAK.index(OPENAI_KEY), LEAK.index(OPENAI_KEY) + len(OPENAI_KEY))
    record = await olga.generation(rows[0].generation_id)
    assert (record["status"], record["error"], record["streamed"]) == (422, "guardrail_blocked", True)
    assert record["tokens_completion"] > 0  # what the provider produced is charged


async def test_the_openai_sdk_raises_on_a_blocked_stream_without_seeing_the_secret(olga: Olga) -> None:
    await add_guardrail(olga.running, type="secrets", stage="output", action="block")
    olga.openai_fake.script(Script(reply=LEAK))
    seen = ""
    stream = await olga.openai().chat.completions.create(model=CHAT_MODEL, messages=ASK, stream=True)
    with pytest.raises(openai.APIError) as caught:
        async for chunk in stream:
            seen += chunk.choices[0].delta.content or "" if chunk.choices else ""
    assert "guardrail" in caught.value.message
    assert "sk-proj" not in seen and seen.startswith("Sure.")


async def test_output_redaction_rewrites_stream_deltas(olga: Olga) -> None:
    await add_guardrail(olga.running, type="pii", stage="output", action="redact", entities=("email",))
    olga.openai_fake.script(Script(reply=MAILS))
    stream = await olga.openai().chat.completions.create(
        model=CHAT_MODEL, messages=ASK, stream=True, stream_options={"include_usage": True}
    )
    text, usage = "", None
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        usage = chunk.usage or usage
    assert text == "Write to [EMAIL] or to [EMAIL] again."
    assert usage is not None and usage.completion_tokens == 7
    rows = await stored_violations(olga.running.home)
    assert [(r.entity, r.action, r.start) for r in rows] == [
        ("email", "redact", MAILS.index(EMAIL)),
        ("email", "redact", MAILS.rindex(EMAIL)),
    ]


async def test_a_translated_stream_is_screened_in_the_callers_api(olga: Olga) -> None:
    """Messages caller, OpenAI provider: the translated events are redacted as they pass."""
    await add_guardrail(olga.running, type="pii", stage="output", action="redact", entities=("email",))
    olga.openai_fake.script(Script(reply=MAILS))
    status, raw = await post_stream(
        olga.url + "/v1/messages",
        olga.key,
        {"model": CHAT_MODEL, "max_tokens": 64, "messages": ASK, "stream": True},
        anthropic=True,
    )
    assert status == 200 and EMAIL.encode() not in raw
    events = events_of(raw)
    assert messages_text(events) == "Write to [EMAIL] or to [EMAIL] again."
    assert [name for name, _ in events][-1] == "message_stop"
    # Every event keeps its name, and the Anthropic SDK reads the stream whole.
    assert all(name == data["type"] for name, data in events)


async def test_a_translated_stream_blocked_ends_with_an_anthropic_error_event(olga: Olga) -> None:
    await add_guardrail(olga.running, type="secrets", stage="output", action="block")
    olga.openai_fake.script(Script(reply=LEAK))
    stream = await olga.anthropic().messages.create(
        model=CHAT_MODEL, max_tokens=64, messages=ASK, stream=True
    )
    seen = ""
    with pytest.raises(anthropic.APIStatusError) as caught:
        async for event in stream:
            if isinstance(event, RawContentBlockDeltaEvent) and isinstance(event.delta, TextDelta):
                seen += event.delta.text
    assert "guardrail" in str(caught.value)
    assert "sk-proj" not in seen and seen.startswith("Sure.")


async def test_an_anthropic_stream_passed_through_is_redacted(olga: Olga) -> None:
    await add_guardrail(olga.running, type="pii", stage="output", action="redact", entities=("email",))
    olga.anthropic_fake.reply(text=MAILS, text_chunk=3)
    async with olga.anthropic().messages.stream(model=CLAUDE, max_tokens=64, messages=ASK) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
    assert text == "Write to [EMAIL] or to [EMAIL] again."
    assert final.content[0].type == "text" and final.content[0].text == text


async def test_a_responses_stream_is_redacted_everywhere_it_repeats_the_text(olga: Olga) -> None:
    await add_guardrail(olga.running, type="pii", stage="output", action="redact", entities=("email",))
    olga.openai_fake.script(Script(reply=MAILS))
    status, raw = await post_stream(
        olga.running.v1 + "/responses", olga.key, {"model": CHAT_MODEL, "input": "hi", "stream": True}
    )
    assert status == 200 and EMAIL.encode() not in raw
    events = events_of(raw)
    deltas = "".join(data["delta"] for _, data in events if data["type"] == "response.output_text.delta")
    assert deltas == "Write to [EMAIL] or to [EMAIL] again."
    completed = events[-1][1]
    assert completed["type"] == "response.completed"
    assert completed["response"]["output"][0]["content"][0]["text"] == deltas
    numbers = [data["sequence_number"] for _, data in events]
    assert numbers == list(range(len(numbers)))


async def test_log_only_output_passes_the_stream_byte_for_byte(olga: Olga) -> None:
    await add_guardrail(olga.running, type="pii", stage="output", action="log")
    body = {"model": CHAT_MODEL, "messages": ASK, "stream": True}
    olga.openai_fake.script(Script(reply=MAILS))
    _, screened = await post_stream(olga.running.v1 + "/chat/completions", olga.key, body)
    assert chat_text(events_of(screened)) == MAILS
    rows = await stored_violations(olga.running.home)
    assert [(r.entity, r.action) for r in rows] == [("email", "log"), ("email", "log")]
    # The provider's own bytes (json.dumps with spaces), not events parsed and encoded again.
    assert b'"delta": {"content": "Writ"}, "logprobs": null' in screened


async def test_zdr_and_stored_bodies_never_keep_what_was_blocked_or_redacted(olga: Olga) -> None:
    """A stream blocked mid-way: the stored response text is masked like the request."""
    await add_guardrail(olga.running, type="secrets", stage="both", action="block")
    await add_guardrail(olga.running, type="pii", stage="both", action="redact", entities=("email",))
    olga.openai_fake.script(Script(reply=LEAK))
    await post_stream(
        olga.running.v1 + "/chat/completions",
        olga.key,
        {"model": CHAT_MODEL, "messages": [{"role": "user", "content": f"I am {EMAIL}"}], "stream": True},
    )
    rows = await stored_violations(olga.running.home)
    db = await open_store(olga.running.home / "olga.db")
    try:
        record = await db.records.get_generation(rows[0].generation_id)
    finally:
        await db.close()
    assert record is not None and record.request_body is not None and record.response_body is not None
    assert EMAIL not in record.request_body and "[EMAIL]" in record.request_body
    assert OPENAI_KEY not in record.response_body and "[OPENAI_API_KEY]" in record.response_body


async def test_a_blocked_responses_stream_ends_with_an_error_event_in_sequence(olga: Olga) -> None:
    """Responses caller, Anthropic provider (translated): the error event continues the numbering."""
    await add_guardrail(olga.running, type="secrets", stage="output", action="block", name="no-leaks")
    olga.anthropic_fake.reply(text=LEAK, text_chunk=4)
    status, raw = await post_stream(
        olga.running.v1 + "/responses", olga.key, {"model": CLAUDE, "input": "key?", "stream": True}
    )
    assert status == 200 and b"sk-proj" not in raw
    events = events_of(raw)
    name, error = events[-1]
    assert (name, error["type"], error["code"]) == ("error", "error", "guardrail_blocked")
    assert "'no-leaks'" in error["message"]
    numbers = [data["sequence_number"] for _, data in events]
    assert numbers == list(range(len(numbers)))
    rows = await stored_violations(olga.running.home)
    assert [(r.field, r.entity) for r in rows] == [("output[0].content[0].text", "openai_api_key")]


async def test_tool_call_arguments_are_redacted_whole_and_streamed(olga: Olga) -> None:
    await add_guardrail(olga.running, type="pii", stage="output", action="redact", entities=("email",))
    call = ToolCall("send_mail", {"to": EMAIL, "body": "hi"})
    olga.openai_fake.script(Script(tool_calls=[call]), Script(tool_calls=[call]))
    client = olga.openai()
    answer = await client.chat.completions.create(model=CHAT_MODEL, messages=ASK)
    calls = answer.choices[0].message.tool_calls
    assert calls is not None and json.loads(calls[0].function.arguments) == {"to": "[EMAIL]", "body": "hi"}  # type: ignore[union-attr]

    stream = await client.chat.completions.create(model=CHAT_MODEL, messages=ASK, stream=True)
    arguments = ""
    async for chunk in stream:
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            arguments += delta.function.arguments or "" if delta.function else ""
    assert json.loads(arguments) == {"to": "[EMAIL]", "body": "hi"}

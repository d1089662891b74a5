"""Malformed provider answers: a 502 in the caller's API shape, recorded and charged, never a 500.

The provider answers 200 with a body its API never sends: JSON of the wrong shape, JSON nested 100,000
deep, an HTML page, nothing, a stream for a call that asked for none; or, on a translated stream, a
``data:`` line that is not JSON. olga records what came back, charges the usage it reported (estimated
when it reported none) and tells the caller, in the caller's API, that the provider failed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fakes.gateway import configure, mint_key, start_gateway
from tests.fakes.misbehaving import Misbehaving, answer, chat_chunk, stream
from tests.server.resilience_support import Olga, sse_events

CHAT = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {"model": "openai/gpt-4o-mini", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
USAGE = {"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15}


@pytest.fixture
async def olga(home: Path) -> AsyncIterator[tuple[Olga, Misbehaving]]:
    fake = await Misbehaving().start()
    configure(home, providers={"openai": {"base_url": fake.url + "/v1", "api_key": "sk-test-upstream-1"}})
    row, key = await mint_key(home, name="shapes", credits_usd="1")
    running = Olga(await start_gateway(home), key, row.id)
    yield running, fake
    await running.close()
    await fake.close()


def chat_answer(**fields: Any) -> bytes:
    body = {"id": "chatcmpl-x", "object": "chat.completion", "model": "gpt-4o-mini", "usage": USAGE, **fields}
    return json.dumps(body).encode()


DEEP = b'{"choices": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
CASES = {
    "choices is an object": chat_answer(choices={}),
    "message is a string": chat_answer(choices=[{"index": 0, "message": "text", "finish_reason": "stop"}]),
    "100k-deep JSON": DEEP,
    "an HTML page": b"<html><body>Bad gateway, but 200</body></html>",
    "an empty body": b"",
    "a stream for a call that asked for none": chat_chunk("hi") + b"data: [DONE]\n\n",
}


@pytest.mark.parametrize("case", list(CASES))
async def test_a_malformed_chat_answer_is_a_502_in_openais_shape_recorded_and_charged(
    olga: tuple[Olga, Misbehaving], case: str
) -> None:
    running, fake = olga
    content_type = "text/event-stream" if case.startswith("a stream") else "application/json"
    fake.behaviour = answer(CASES[case], content_type=content_type)
    status, headers, body = await running.post(CHAT)
    assert status == 502
    assert set(body) == {"error"} and body["error"]["code"] == "upstream_error"
    assert "cannot read" in body["error"]["message"]
    record = await running.record(headers["x-olga-generation-id"])
    assert (record.status, record.error) == (502, "upstream_error")
    assert (record.attempts[-1].error or "").startswith("malformed answer")
    assert record.cost_pico > 0 and await running.charges() == [record.cost_pico]
    if case in ("choices is an object", "message is a string"):  # the usage it reported is what is charged
        assert (record.tokens_prompt, record.tokens_completion, record.usage_estimated) == (11, 4, False)
    else:
        assert record.usage_estimated


async def test_a_translated_answer_of_the_wrong_shape_is_a_502_in_anthropics_shape(
    olga: tuple[Olga, Misbehaving],
) -> None:
    running, fake = olga
    fake.behaviour = answer(chat_answer(choices=[{"index": 0, "message": "text", "finish_reason": "stop"}]))
    status, headers, body = await running.post(MESSAGES, path="/messages")
    assert status == 502
    assert body["type"] == "error" and body["error"]["type"] == "api_error"
    record = await running.record(headers["x-olga-generation-id"])
    assert record.status == 502 and record.tokens_prompt == 11


@pytest.mark.parametrize(
    "bad_event",
    [b"data: {not json\n\n", b'data: {"choices": [{"index": 0, "delta": "a string"}]}\n\n', b"data: 17\n\n"],
)
async def test_an_unreadable_event_on_a_translated_stream_ends_it_with_an_error_event(
    olga: tuple[Olga, Misbehaving], bad_event: bytes
) -> None:
    running, fake = olga
    fake.behaviour = stream([chat_chunk("Hello"), bad_event, chat_chunk(" never sent")], every=0.05)
    auth = {"Authorization": f"Bearer {running.key}", "anthropic-version": "2023-06-01"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            running.running.v1 + "/messages", json={**MESSAGES, "stream": True}, headers=auth
        ) as reply,
    ):
        raw = await reply.read()
        generation_id = reply.headers["x-olga-generation-id"]
    assert reply.status == 200  # the stream had begun: it ends with Anthropic's error event
    events = [json.loads(e) for e in sse_events(raw)]
    assert events[-1]["type"] == "error" and "cannot read" in events[-1]["error"]["message"]
    assert not any("never sent" in json.dumps(e) for e in events)
    record = await running.record(generation_id)
    assert (record.status, record.error) == (502, "upstream_error") and record.usage_estimated
    assert record.cost_pico > 0 and await running.charges() == [record.cost_pico]


@pytest.mark.parametrize("bad_event", [b"data: {not json\n\n", b"data: 17\n\n"])
async def test_a_translated_stream_unreadable_from_its_first_event_is_a_charged_502(
    olga: tuple[Olga, Misbehaving], bad_event: bytes
) -> None:
    """Nothing reached the caller, so the answer is a 502 in its API's shape (not a stream); the
    provider did the work, so it is charged as a stream that breaks later is, and not tried again."""
    running, fake = olga
    fake.behaviour = stream([bad_event, chat_chunk("never sent")], every=0.05)
    status, headers, body = await running.post({**MESSAGES, "stream": True}, path="/messages")
    assert status == 502
    assert body["type"] == "error" and body["error"]["type"] == "api_error"
    assert "cannot read" in body["error"]["message"]
    assert len(fake.requests) == 1
    record = await running.record(headers["x-olga-generation-id"])
    assert (record.status, record.error, record.streamed) == (502, "upstream_error", False)
    assert (record.attempts[-1].error or "").startswith("malformed")
    assert record.usage_estimated and record.cost_pico > 0
    assert await running.charges() == [record.cost_pico]


GOOD = chat_answer(
    choices=[{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]
)
WRONG_TYPES = {
    "JSON sent as an HTML page": (False, "text/html; charset=utf-8", "text/html"),
    "JSON sent as plain text": (False, "text/plain", "text/plain"),
    "a whole answer to a streamed request": (True, "application/json", "not text/event-stream"),
}


@pytest.mark.parametrize("case", list(WRONG_TYPES))
async def test_a_200_whose_content_type_breaks_the_apis_promise_is_a_recorded_502(
    olga: tuple[Olga, Misbehaving], case: str
) -> None:
    """The body would parse as a chat completion; its Content-Type says it is not what the API
    promises (JSON for a whole answer, an event stream for a streamed one), so it is not relayed."""
    running, fake = olga
    streamed, content_type, named = WRONG_TYPES[case]
    fake.behaviour = answer(GOOD, content_type=content_type)
    status, headers, body = await running.post({**CHAT, "stream": streamed})
    assert status == 502 and body["error"]["code"] == "upstream_error"
    assert named in body["error"]["message"]
    record = await running.record(headers["x-olga-generation-id"])
    assert (record.status, record.error) == (502, "upstream_error")
    assert named in (record.attempts[-1].error or "")
    assert (record.tokens_prompt, record.tokens_completion) == (11, 4)  # what it reported, charged
    assert await running.charges() == [record.cost_pico]


async def test_json_with_parameters_in_its_content_type_is_relayed(olga: tuple[Olga, Misbehaving]) -> None:
    running, fake = olga
    fake.behaviour = answer(GOOD, content_type="application/json; charset=utf-8")
    status, _, body = await running.post(CHAT)
    assert status == 200 and body["choices"][0]["message"]["content"] == "hi"

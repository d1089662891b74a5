"""Streams that break, callers who leave: a well-formed end for the caller, a cancelled upstream, and a
record that keeps (and charges) what was used, once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import openai
import pytest

from olga_cli.providers.tokens import count_tokens
from olga_cli.store.db import open_store
from tests.fakes.openai_upstream import FakeOpenAI, Script
from tests.server.resilience_support import (
    CHAT,
    SECOND_MODEL,
    Olga,
    add_second_provider,
    sse_events,
    start_olga,
)

LONG_REPLY = "one two three four five six seven eight nine ten eleven twelve"  # 4-character pieces: 16 chunks


@pytest.fixture
async def second() -> AsyncIterator[FakeOpenAI]:
    fake = await FakeOpenAI().start()
    yield fake
    await fake.close()


@pytest.fixture
async def olga(home: Path, fake_openai: FakeOpenAI, second: FakeOpenAI) -> AsyncIterator[Olga]:
    """Generous retries everywhere, and a fallback: none of it may repeat a stream the caller has begun."""
    add_second_provider(home, second)
    running = await start_olga(
        home,
        fake_openai,
        openai_extra={"retry_on": [500, 502, 504], "max_retries": 3},
        resilience={"backoff_base": 0.01, "backoff_max": 0.02},
        fallbacks={"openai/gpt-4o-mini": [SECOND_MODEL]},
    )
    yield running
    await running.close()


def stream_request() -> dict:
    return {**CHAT, "stream": True}


async def test_a_stream_cut_after_5_chunks_ends_with_an_error_event_and_is_never_repeated(
    olga: Olga, fake_openai: FakeOpenAI, second: FakeOpenAI
) -> None:
    fake_openai.script(Script(reply=LONG_REPLY, cut_after=5))
    status, headers, raw = await olga.post_raw(stream_request())  # ends cleanly: no broken chunked transfer
    assert status == 200
    generation_id = headers["x-olga-generation-id"]
    events = sse_events(raw)
    chunks = [json.loads(e) for e in events[:-1]]
    pieces = [c["choices"][0]["delta"].get("content", "") for c in chunks]
    assert "".join(pieces) == LONG_REPLY[:20] and len(chunks) == 6  # the role chunk, then 5 pieces
    error = json.loads(events[-1])["error"]
    assert error["code"] == "upstream_error" and "broke off" in error["message"]
    assert "[DONE]" not in events

    assert len(fake_openai.requests) == 1 and second.requests == []  # never retried once begun
    record = await olga.record(generation_id)
    assert (record.status, record.error, record.streamed) == (502, "upstream_error", True)
    assert record.attempts[0].error is not None and record.attempts[0].error.startswith("disconnected")
    assert record.usage_estimated and record.tokens_completion == count_tokens(LONG_REPLY[:20])
    assert record.cost_pico > 0 and await olga.charges() == [record.cost_pico]


async def test_the_openai_sdk_raises_on_the_error_event_after_the_partial_answer(
    olga: Olga, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Script(reply=LONG_REPLY, cut_after=5))
    seen = []
    async with olga.sdk() as client:
        stream = await client.chat.completions.create(**stream_request())  # type: ignore[call-overload]
        with pytest.raises(openai.APIError, match="broke off"):
            async for chunk in stream:
                seen.append(chunk.choices[0].delta.content or "")
    assert "".join(seen) == LONG_REPLY[:20]


async def test_a_stream_that_breaks_before_its_first_event_is_tried_again_unseen(
    olga: Olga, fake_openai: FakeOpenAI, second: FakeOpenAI
) -> None:
    """Nothing had reached the caller, so the retry the config allows (502 covers a dropped connection)
    and then the fallback may still serve it."""
    fake_openai.script(*[Script(cut_before_first=True)] * 4)
    async with olga.sdk() as client:
        raw = await client.chat.completions.with_raw_response.create(**stream_request())  # type: ignore[call-overload]
        text = "".join([c.choices[0].delta.content or "" async for c in raw.parse() if c.choices])
    assert text == "Hello from the fake provider."
    record = await olga.record(raw.headers["x-olga-generation-id"])
    assert [a.provider for a in record.attempts] == ["openai"] * 4 + ["second"] and record.status == 200
    assert all(a.status == 200 and (a.error or "").startswith("disconnected") for a in record.attempts[:4])
    assert await olga.charges() == [record.cost_pico]


async def test_a_client_that_leaves_after_3_chunks_cancels_the_upstream_and_is_recorded_499(
    olga: Olga, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Script(reply=LONG_REPLY, chunk_delay=0.1))
    session = aiohttp.ClientSession()
    try:
        reply = await session.post(
            olga.running.v1 + "/chat/completions",
            json=stream_request(),
            headers={"Authorization": f"Bearer {olga.key}"},
        )
        generation_id = reply.headers["x-olga-generation-id"]
        contents = 0
        async for line in reply.content:
            if line.startswith(b"data:") and b'"content": "' in line and b'"content": ""' not in line:
                contents += 1
                if contents == 3:
                    break
        reply.close()  # the caller goes away mid-stream
    finally:
        await session.close()

    await asyncio.wait_for(fake_openai.stream_cancelled.wait(), timeout=1.5)  # the provider saw it at once
    assert fake_openai.streams_finished == 0
    record = await olga.record(generation_id)
    assert (record.status, record.error) == (499, "client_disconnected")
    assert record.usage_estimated and 3 <= record.tokens_completion < count_tokens(LONG_REPLY)
    assert record.cost_pico > 0 and await olga.charges() == [record.cost_pico]


async def test_a_client_that_leaves_while_waiting_for_a_whole_answer_cancels_the_upstream(
    olga: Olga, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Script(delay=5))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.3)) as session:
        with pytest.raises(asyncio.TimeoutError):
            await session.post(
                olga.running.v1 + "/chat/completions",
                json=CHAT,
                headers={"Authorization": f"Bearer {olga.key}"},
            )
    await asyncio.wait_for(fake_openai.wait_abandoned.wait(), timeout=1.5)

    async def recorded() -> list[int]:
        for _ in range(40):
            charges = await olga.charges()
            if charges:
                return charges
            await asyncio.sleep(0.05)
        return []

    charges = await recorded()
    assert len(charges) == 1 and charges[0] > 0  # the prompt the provider was working on, estimated
    assert len(fake_openai.requests) == 1  # a caller who left is not retried for
    db = await open_store(olga.home / "olga.db")
    try:
        [(_, record)] = await db.records.recent_generations(limit=1)
    finally:
        await db.close()
    assert (record.status, record.error, record.usage_estimated) == (499, "client_disconnected", True)
    assert record.tokens_completion == 0 and record.cost_pico == charges[0]
    assert (record.attempts[0].error or "").startswith("client_disconnected")


async def test_a_stream_that_goes_silent_ends_with_a_timeout_event(
    home: Path, fake_openai: FakeOpenAI
) -> None:
    olga = await start_olga(home, fake_openai, openai_extra={"idle_timeout": 0.2, "retry_on": [504]})
    try:
        fake_openai.script(Script(reply=LONG_REPLY, chunk_delay=0.6))  # the role chunk, then silence
        _, headers, raw = await olga.post_raw(stream_request())
        generation_id, events = headers["x-olga-generation-id"], sse_events(raw)
        assert json.loads(events[-1])["error"]["code"] == "upstream_timeout"
        assert len(fake_openai.requests) == 1  # begun, so not retried even though 504 is in retry_on
        record = await olga.record(generation_id)
        assert (record.status, record.error) == (504, "upstream_timeout")
        assert (record.attempts[0].error or "").startswith("idle_timeout")
    finally:
        await olga.close()


async def test_a_responses_stream_cut_mid_way_ends_with_error_then_response_failed(
    olga: Olga, second: FakeOpenAI
) -> None:
    second.script(Script(reply=LONG_REPLY, cut_after=5))  # a Chat provider behind the Responses API
    status, headers, raw = await olga.post_raw(
        {"model": SECOND_MODEL, "input": "Say hello", "stream": True}, path="/responses"
    )
    assert status == 200
    blocks = [b for b in raw.decode().split("\n\n") if b.strip()]
    names = [b.split("\n", 1)[0].removeprefix("event: ") for b in blocks]
    assert names[-2:] == ["error", "response.failed"]
    error = json.loads(blocks[-2].split("data: ", 1)[1])
    assert error["code"] == "upstream_error" and "broke off" in error["message"]
    assert len(second.requests) == 1
    record = await olga.record(headers["x-olga-generation-id"])
    assert (record.status, record.error) == (502, "upstream_error") and record.tokens_completion > 0

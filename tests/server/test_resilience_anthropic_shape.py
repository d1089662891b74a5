"""Anthropic-shaped callers (/v1/messages) get faults in their own API: a stream cut mid-way ends with
Anthropic's error event, and a caller who leaves is recorded 499."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import anthropic
import pytest

from tests.fakes.openai_upstream import FakeOpenAI, Script
from tests.server.resilience_support import Olga, start_olga

LONG_REPLY = "one two three four five six seven eight nine ten eleven twelve"
MESSAGES = {
    "model": "openai/gpt-4o-mini",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": "Say hello"}],
}


@pytest.fixture
async def olga(home: Path, fake_openai: FakeOpenAI) -> AsyncIterator[Olga]:
    running = await start_olga(home, fake_openai, openai_extra={"retry_on": [502], "max_retries": 3})
    yield running
    await running.close()


async def test_a_translated_stream_cut_mid_way_ends_with_anthropics_error_event(
    olga: Olga, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Script(reply=LONG_REPLY, cut_after=5))
    client = anthropic.AsyncAnthropic(base_url=olga.running.url, api_key=olga.key, max_retries=0)
    texts: list[str] = []
    async with client:
        with pytest.raises(anthropic.APIStatusError) as caught:
            async with client.messages.stream(**MESSAGES) as stream:  # type: ignore[arg-type]
                async for text in stream.text_stream:
                    texts.append(text)
    assert "".join(texts) == LONG_REPLY[:20]
    assert "broke off" in str(caught.value)
    assert len(fake_openai.requests) == 1  # begun, so never repeated


async def test_the_raw_stream_ends_with_one_error_event(olga: Olga, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Script(reply=LONG_REPLY, cut_after=5))
    status, headers, raw = await olga.post_raw({**MESSAGES, "stream": True}, path="/messages")
    assert status == 200
    blocks = [b for b in raw.decode().split("\n\n") if b.strip()]
    assert blocks[-1].startswith("event: error\n")
    payload = json.loads(blocks[-1].split("data: ", 1)[1])
    assert payload["type"] == "error" and payload["error"]["type"] == "api_error"
    record = await olga.record(headers["x-olga-generation-id"])
    assert (record.status, record.error, record.usage_estimated) == (502, "upstream_error", True)
    assert await olga.charges() == [record.cost_pico] and record.cost_pico > 0

"""A model falling back to a model of another API: 500 from OpenAI, the answer from Anthropic,
translated back to Chat Completions by the exchange registered for (chat, anthropic), every attempt
in the record."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.anthropic_upstream import FakeAnthropic, start_fake_anthropic
from tests.fakes.gateway import point_anthropic_at
from tests.fakes.openai_upstream import FakeOpenAI, Script, error_body
from tests.server.resilience_support import CHAT, Olga, start_olga


@pytest.fixture
async def anthropic() -> AsyncIterator[FakeAnthropic]:
    fake = await start_fake_anthropic()
    yield fake
    await fake.close()


@pytest.fixture
async def olga(home: Path, fake_openai: FakeOpenAI, anthropic: FakeAnthropic) -> AsyncIterator[Olga]:
    point_anthropic_at(home, anthropic.url)
    running = await start_olga(
        home, fake_openai, fallbacks={"openai/gpt-4o-mini": ["anthropic/claude-haiku-4-5"]}
    )
    yield running
    await running.close()


async def test_500_on_the_primary_model_and_success_on_the_fallback_of_another_api(
    olga: Olga, fake_openai: FakeOpenAI, anthropic: FakeAnthropic
) -> None:
    fake_openai.script(Script(status=500, body=error_body("The server had an error", "server_error")))
    async with olga.sdk() as client:
        raw = await client.chat.completions.with_raw_response.create(**CHAT)  # type: ignore[call-overload]
    completion = raw.parse()
    assert completion.choices[0].message.content == "Hello from the fake Anthropic."
    assert completion.model.startswith("claude-haiku-4-5")  # as the serving provider named it
    assert len(fake_openai.requests) == 1 and len(anthropic.requests) == 1
    _, headers, body = anthropic.requests[0]
    assert headers["x-api-key"] == "sk-ant-upstream-test-key" and body["model"] == "claude-haiku-4-5"
    record = await olga.record(raw.headers["x-olga-generation-id"])
    assert [(a.provider, a.status) for a in record.attempts] == [("openai", 500), ("anthropic", 200)]
    assert record.provider == "anthropic" and (record.tokens_prompt, record.tokens_completion) == (12, 7)
    assert await olga.charges() == [record.cost_pico] and record.cost_pico > 0


async def test_an_error_of_the_fallback_comes_back_in_the_callers_shape(
    olga: Olga, fake_openai: FakeOpenAI, anthropic: FakeAnthropic
) -> None:
    fake_openai.script(Script(status=500, body=error_body("down")))
    anthropic.fail(400, message="max_tokens: must be at most 8192")
    status, _, body = await olga.post(CHAT)
    assert status == 400 and body["error"]["message"] == "max_tokens: must be at most 8192"  # OpenAI's shape


async def test_a_streamed_request_falls_over_to_a_translated_stream(
    olga: Olga, fake_openai: FakeOpenAI, anthropic: FakeAnthropic
) -> None:
    fake_openai.script(
        Script(status=503, body=error_body("overloaded")), *[Script(status=500, body=error_body("down"))]
    )
    async with olga.sdk() as client:
        raw = await client.chat.completions.with_raw_response.create(**CHAT, stream=True)  # type: ignore[call-overload]
        text = "".join([c.choices[0].delta.content or "" async for c in raw.parse() if c.choices])
    assert text == "Hello from the fake Anthropic."
    record = await olga.record(raw.headers["x-olga-generation-id"])
    assert [(a.provider, a.status) for a in record.attempts] == [
        ("openai", 503),
        ("openai", 500),
        ("anthropic", 200),
    ]
    assert record.streamed and record.status == 200 and not record.usage_estimated
    assert await olga.charges() == [record.cost_pico]

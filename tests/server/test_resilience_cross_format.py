"""A model falling back to a model of another API: 500 from OpenAI, the answer from Anthropic,
translated back to Chat Completions, every attempt in the record.

The exchange for (chat caller, anthropic provider) comes from ``exchange.BUILDERS``, as in
production. Until the translation wiring registers that pair, this test registers a minimal one built
from ``providers.translate`` (the same pure functions the wiring uses), so the failover across APIs is
tested either way.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from olga_cli.gateway import exchange
from olga_cli.gateway.exchange import Converted, Exchange
from olga_cli.gateway.routing import Target
from olga_cli.providers.relay import Facts
from olga_cli.providers.translate import translate_error, translate_request, translate_response
from olga_cli.providers.usage import from_anthropic
from tests.fakes.anthropic_upstream import FakeAnthropic, start_fake_anthropic
from tests.fakes.gateway import point_anthropic_at
from tests.fakes.openai_upstream import FakeOpenAI, Script, error_body
from tests.server.resilience_support import CHAT, Olga, start_olga


def _chat_to_anthropic(body: dict[str, Any], target: Target, headers: dict[str, str]) -> Exchange:
    request = {k: v for k, v in body.items() if k != "models"}

    def convert(raw: bytes) -> Converted:
        answer = json.loads(raw)
        chat = translate_response(answer, caller="chat", provider="messages", model=answer["model"], request=request)
        text = "".join(b.get("text", "") for b in answer.get("content", []) if b.get("type") == "text")
        facts = Facts(from_anthropic(answer.get("usage")), chat["choices"][0]["finish_reason"], answer.get("id"),
                      answer.get("model"), text)
        return Converted(json.dumps(chat).encode(), facts)

    def convert_error(status: int, raw: bytes) -> bytes:
        return json.dumps(translate_error(status, json.loads(raw), caller="chat")).encode()

    return Exchange(
        path="/v1/messages",
        body=translate_request(request, caller="chat", provider="messages", upstream_model=target.upstream_model,
                               default_max_tokens=target.entry.max_output_tokens or 4096),
        convert=convert,
        convert_error=convert_error,
    )


@pytest.fixture
async def anthropic(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeAnthropic]:
    if ("chat", "anthropic") not in exchange.BUILDERS:
        monkeypatch.setitem(exchange.BUILDERS, ("chat", "anthropic"), _chat_to_anthropic)
    fake = await start_fake_anthropic()
    yield fake
    await fake.close()


@pytest.fixture
async def olga(home: Path, fake_openai: FakeOpenAI, anthropic: FakeAnthropic) -> AsyncIterator[Olga]:
    point_anthropic_at(home, anthropic.url)
    running = await start_olga(home, fake_openai, fallbacks={"openai/gpt-4o-mini": ["anthropic/claude-haiku-4-5"]})
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

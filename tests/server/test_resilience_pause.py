"""Pause and resume from the CLI while the server runs, and the circuit breaker end to end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.openai_upstream import FakeOpenAI, Script, error_body
from tests.server.resilience_support import (
    CHAT,
    SECOND_MODEL,
    Olga,
    add_second_provider,
    cli_async,
    eventually,
    start_olga,
)


@pytest.fixture
async def olga(home: Path, fake_openai: FakeOpenAI) -> AsyncIterator[Olga]:
    running = await start_olga(
        home, fake_openai, resilience={"breaker_threshold": 2, "breaker_cooldown": 0.5}
    )
    yield running
    await running.close()


async def test_pause_fails_fast_with_429_until_resume(olga: Olga, fake_openai: FakeOpenAI) -> None:
    assert (await olga.post(CHAT))[0] == 200
    await cli_async("providers", "pause", "openai")

    async def refused() -> bool:
        return (await olga.post(CHAT))[0] == 429

    await eventually(refused)
    status, headers, body = await olga.post(CHAT)
    assert body["error"]["code"] == "provider_paused" and body["error"]["type"] == "rate_limit_error"
    assert "olga providers resume openai" in body["error"]["message"]
    record = await olga.record(headers["x-olga-generation-id"])
    assert record.status == 429 and record.attempts[0].error.startswith("provider_paused")  # type: ignore[union-attr]
    sent = len(fake_openai.requests)
    # Anthropic-shaped callers get it in their own shape.
    status, _, body = await olga.post(
        {"model": "openai/gpt-4o-mini", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]},
        path="/messages",
    )
    assert status == 429 and body["type"] == "error" and body["error"]["type"] == "rate_limit_error"

    await cli_async("providers", "resume", "openai")

    async def served() -> bool:
        return (await olga.post(CHAT))[0] == 200

    await eventually(served)
    assert len(fake_openai.requests) > sent


async def test_a_paused_primary_falls_over_to_its_fallback(home: Path, fake_openai: FakeOpenAI) -> None:
    second = await FakeOpenAI().start()
    try:
        add_second_provider(home, second)
        olga = await start_olga(home, fake_openai, openai_extra={"paused": True})
        try:
            status, headers, _ = await olga.post({**CHAT, "models": [SECOND_MODEL]})
            assert status == 200 and fake_openai.requests == [] and len(second.requests) == 1
            record = await olga.record(headers["x-olga-generation-id"])
            assert [(a.provider, a.status) for a in record.attempts] == [("openai", None), ("second", 200)]
        finally:
            await olga.close()
    finally:
        await second.close()


async def test_a_provider_failing_repeatedly_is_skipped_for_a_cool_down_then_probed(
    olga: Olga, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(*[Script(status=500, body=error_body("down"))] * 2)
    for _ in range(2):
        assert (await olga.post(CHAT))[0] == 502
    status, headers, body = await olga.post(CHAT)
    assert (
        status == 503
        and body["error"]["code"] == "provider_unavailable"
        and "circuit open" in body["error"]["message"]
    )
    assert headers["Retry-After"] == "1"
    assert len(fake_openai.requests) == 2  # skipped without a call
    await asyncio.sleep(0.55)  # the cool-down: one probe goes through, succeeds, and closes the circuit
    assert (await olga.post(CHAT))[0] == 200
    assert (await olga.post(CHAT))[0] == 200
    assert len(fake_openai.requests) == 4

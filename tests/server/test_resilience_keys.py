"""Provider key pools: keys in turn, a rate-limited key rests, a rejected key is set aside and shown
invalid by `olga providers list`, and 503 "No active API keys" when none is usable."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.openai_upstream import FakeOpenAI, Script, error_body
from tests.server.resilience_support import CHAT, Olga, cli_async, eventually, start_olga


@pytest.fixture
async def olga(home: Path, fake_openai: FakeOpenAI) -> AsyncIterator[Olga]:
    running = await start_olga(home, fake_openai, openai_extra={"api_keys": ["sk-upstream-second"]})
    yield running
    await running.close()


def keys_used(fake: FakeOpenAI) -> list[str]:
    return [r.headers["Authorization"].removeprefix("Bearer ") for r in fake.requests]


async def provider_row(name: str) -> dict:
    listed = json.loads((await cli_async("providers", "list", "--json")).stdout)
    return next(p for p in listed if p["name"] == name)


async def test_keys_of_a_pool_are_used_in_turn(olga: Olga, fake_openai: FakeOpenAI) -> None:
    for _ in range(4):
        assert (await olga.post(CHAT))[0] == 200
    assert keys_used(fake_openai) == ["sk-upstream-test-key", "sk-upstream-second"] * 2


async def test_a_key_rejected_with_401_is_set_aside_shown_invalid_and_resume_gives_it_another_chance(
    olga: Olga, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        Script(status=401, body=error_body("Incorrect API key provided", code="invalid_api_key"))
    )
    status, headers, _ = await olga.post(CHAT)
    assert status == 200  # served by the other key, at once
    record = await olga.record(headers["x-olga-generation-id"])
    assert [(a.status, a.key_label) for a in record.attempts] == [(401, "key-1"), (200, "key-3")]
    for _ in range(3):
        assert (await olga.post(CHAT))[0] == 200
    assert keys_used(fake_openai) == ["sk-upstream-test-key"] + ["sk-upstream-second"] * 4

    row = await provider_row("openai")
    keys = {k["label"]: k for k in row["keys"]}
    assert (keys["key-1"]["usable"], keys["key-1"]["state"], keys["key-1"]["status"]) == (
        False,
        "invalid",
        401,
    )
    assert keys["key-3"] == {"label": "key-3", "usable": True} and row["status"] == "ready"
    assert "sk-upstream" not in json.dumps(row)
    table = (await cli_async("providers", "list")).stdout
    assert "invalid" in table

    await cli_async("providers", "resume", "openai")
    seen = len(fake_openai.requests)

    async def key_1_used_again() -> bool:
        await olga.post(CHAT)
        return "sk-upstream-test-key" in keys_used(fake_openai)[seen:]

    await eventually(key_1_used_again)
    assert all("state" not in k for k in (await provider_row("openai"))["keys"])


async def test_every_key_rate_limited_is_the_providers_429_then_503_no_active_keys(
    olga: Olga, fake_openai: FakeOpenAI
) -> None:
    limited = Script(
        status=429,
        body=error_body("Rate limit reached for gpt-4o-mini", code="rate_limit_exceeded"),
        headers={"retry-after": "30"},
    )
    fake_openai.script(limited, limited)
    status, headers, body = await olga.post(CHAT)
    # Both keys were tried at once; neither rest is short enough to sit out inside the request.
    assert status == 429 and headers["retry-after"] == "30"
    assert body["error"]["message"] == "Rate limit reached for gpt-4o-mini"  # the provider's own answer
    record = await olga.record(headers["x-olga-generation-id"])
    assert [(a.status, a.key_label) for a in record.attempts] == [(429, "key-1"), (429, "key-3")]
    assert record.status == 429 and record.cost_pico == 0

    status, headers, body = await olga.post(CHAT)
    assert status == 503 and body["error"]["code"] == "provider_unavailable"
    assert body["error"]["message"].startswith("No active API keys for provider 'openai'")
    assert 25 <= int(headers["Retry-After"]) <= 30
    assert len(fake_openai.requests) == 2  # the resting keys were left alone
    states = {k["label"]: k.get("state") for k in (await provider_row("openai"))["keys"]}
    assert states == {"env:OPENAI_API_KEY": None, "key-1": "rate_limited", "key-3": "rate_limited"}
    assert await olga.charges() == []

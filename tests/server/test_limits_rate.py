"""--rpm and --tpm over HTTP: exactly N a minute, Retry-After, and OpenAI's x-ratelimit-* headers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import openai

from olga_cli.providers.tokens import estimate_prompt_tokens
from tests.fakes.gateway import mint_key, point_openai_at, start_gateway
from tests.fakes.openai_upstream import FakeOpenAI
from tests.server.limits_support import Clock, chat, key_info, utc

T0 = utc("2026-11-18T10:00:00")


async def test_rpm_60_lets_exactly_60_through_within_the_minute(home: Path) -> None:
    _, key = await mint_key(home, name="sixty", rpm=60)
    running = await start_gateway(home)
    clock = Clock(T0).install(running)
    try:
        async with aiohttp.ClientSession() as session:
            results = await asyncio.gather(*(chat(session, running, key) for _ in range(100)))
            assert sorted(status for status, _, _ in results).count(200) == 60
            refused = [(headers, data) for status, headers, data in results if status == 429]
            assert len(refused) == 40
            for headers, data in refused:
                assert data["error"]["code"] == "rate_limit_exceeded"
                assert "60 requests in the last minute" in data["error"]["message"]
                assert headers["Retry-After"] == "60"
                assert headers["x-ratelimit-remaining-requests"] == "0"
                assert "x-should-retry" not in headers  # a rate limit is transient: SDKs may retry it
            clock.now = T0 + 59.9
            assert (await chat(session, running, key))[0] == 429
            clock.now = T0 + 60  # the whole first minute has slid out
            again = await asyncio.gather(*(chat(session, running, key) for _ in range(70)))
            assert [status for status, _, _ in again].count(200) == 60
    finally:
        await running.close()


async def test_headers_follow_the_state_on_whole_streamed_and_refused_responses(
    home: Path, fake_openai: FakeOpenAI
) -> None:
    point_openai_at(home, fake_openai.url)
    _, key = await mint_key(home, name="metered", rpm=5, tpm=1000, models=("openai/gpt-4o-mini",))
    running = await start_gateway(home)
    clock = Clock(T0).install(running)
    body: dict[str, Any] = {
        "model": "openai/gpt-4o-mini",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "Say hello"}],
    }
    estimate = estimate_prompt_tokens(body) + 50  # what a request holds against --tpm while in flight
    try:
        client = openai.AsyncOpenAI(base_url=running.v1, api_key=key, max_retries=0)
        first = await client.chat.completions.with_raw_response.create(**body)
        headers = first.headers
        assert headers["x-ratelimit-limit-requests"] == "5"
        assert headers["x-ratelimit-remaining-requests"] == "4"
        assert headers["x-ratelimit-reset-requests"] == "1m0s"
        assert headers["x-ratelimit-limit-tokens"] == "1000"
        assert headers["x-ratelimit-remaining-tokens"] == str(1000 - estimate)
        assert headers["x-ratelimit-reset-tokens"] == "1m0s"

        clock.now = T0 + 15
        streaming = client.chat.completions.with_streaming_response.create(**body, stream=True)
        async with streaming as streamed:
            assert streamed.headers["x-ratelimit-remaining-requests"] == "3"
            # The first request settled at its real 19 tokens; the second holds its estimate.
            assert streamed.headers["x-ratelimit-remaining-tokens"] == str(1000 - 19 - estimate)
            async for _ in streamed.iter_lines():
                pass

        clock.now = T0 + 20
        async with aiohttp.ClientSession() as session:
            state = (await key_info(session, running, key))["rate_limits"]
            assert state == {
                "requests": {"limit": 5, "remaining": 3, "reset": "55s"},
                "tokens": {"limit": 1000, "remaining": 1000 - 38, "reset": "55s"},
            }
            # A refusal of olga's own (403 here) carries the headers too, without counting.
            status, headers, data = await chat(session, running, key, model="mock/echo")
            assert status == 403 and data["error"]["code"] == "model_not_allowed"
            assert headers["x-ratelimit-remaining-requests"] == "3"
            for _ in range(3):
                assert (await chat(session, running, key, **body))[0] == 200
            status, headers, data = await chat(session, running, key, **body)
            assert status == 429 and data["error"]["code"] == "rate_limit_exceeded"
            assert headers["x-ratelimit-remaining-requests"] == "0"
            assert headers["Retry-After"] == "40"  # the request of T0 leaves the minute at T0 + 60
            assert headers["x-ratelimit-reset-requests"] == "1m0s"  # the newest ones came just now
    finally:
        await running.close()


async def test_tpm_refuses_once_the_minute_holds_the_limit(home: Path, fake_openai: FakeOpenAI) -> None:
    point_openai_at(home, fake_openai.url)
    _, key = await mint_key(home, name="wordy", tpm=40)
    running = await start_gateway(home)
    clock = Clock(T0).install(running)
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(3):  # 19 tokens each: 0, 19 and 38 are below 40
                assert (await chat(session, running, key, model="openai/gpt-4o-mini"))[0] == 200
            clock.now = T0 + 30
            status, headers, data = await chat(session, running, key, model="openai/gpt-4o-mini")
            assert status == 429 and "57 tokens in the last minute" in data["error"]["message"]
            assert headers["Retry-After"] == "30" and headers["x-ratelimit-remaining-tokens"] == "0"
            assert len(fake_openai.requests) == 3
    finally:
        await running.close()


async def test_keys_without_rate_limits_get_no_rate_headers(home: Path) -> None:
    _, key = await mint_key(home, name="free")
    running = await start_gateway(home)
    try:
        async with aiohttp.ClientSession() as session:
            status, headers, _ = await chat(session, running, key)
            assert status == 200
            assert not [name for name in headers if name.lower().startswith("x-ratelimit")]
            assert (await key_info(session, running, key))["rate_limits"] == {
                "requests": None,
                "tokens": None,
            }
    finally:
        await running.close()

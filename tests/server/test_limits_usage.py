"""Usage limits over HTTP: refusals before the provider, under concurrency, across restarts and resets."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import openai
import pytest

from olga_cli.catalog import load_catalog
from olga_cli.providers.usage import Usage
from olga_cli.store.db import open_store
from tests.fakes.gateway import mint_key, point_openai_at, start_gateway, store_totals
from tests.fakes.openai_upstream import FakeOpenAI
from tests.server.limits_support import Clock, add_limit, add_team, chat, key_info, utc

CENT = 10**10  # $0.01 in picodollars
WEDNESDAY = utc("2026-11-18T10:00:00")


async def test_two_hundred_concurrent_requests_cannot_overshoot_a_cent_a_day(
    home: Path, fake_openai: FakeOpenAI
) -> None:
    """Recorded spend stays within the limit plus one reservation; refusals never reach the provider."""
    point_openai_at(home, fake_openai.url)
    row, key = await mint_key(home, name="burst")
    await add_limit(home, "key", row.id, "cost", "daily", CENT)
    # Each request may cost up to its reservation (every byte of the body a token, plus max_tokens) and
    # really costs a little less, so a few bursts are needed to reach the cent.
    fake_openai.usage = {"prompt_tokens": 6000, "completion_tokens": 500, "total_tokens": 6500}
    body: dict[str, Any] = {
        "model": "openai/gpt-4o-mini",
        "max_tokens": 500,
        "messages": [{"role": "user", "content": "word " * 1600}],
    }
    entry = load_catalog(home).resolve("openai/gpt-4o-mini")
    assert entry is not None
    running = await start_gateway(home)
    try:
        statuses: list[int] = []
        async with aiohttp.ClientSession() as session:
            for _burst in range(6):
                results = await asyncio.gather(*(chat(session, running, key, **body) for _ in range(200)))
                statuses += [status for status, _, _ in results]
                for status, headers, data in results:
                    if status == 429:
                        assert data["error"]["code"] == "usage_limit_exceeded"
                        assert headers["x-should-retry"] == "false" and int(headers["Retry-After"]) > 0
                        assert (
                            "key 'burst'" in data["error"]["message"]
                            and "daily cost limit" in data["error"]["message"]
                        )
                    else:
                        assert status == 200
                if all(status == 429 for status, _, _ in results):
                    break
        _, spent = await store_totals(home, row.id)
        # aiohttp sends json.dumps(body): every byte of it counts as a possible input token.
        reservation = entry.worst_case_pico(len(json.dumps(body).encode()), 500, rate_multiplier=Decimal(1))
        in_memory = running.gateway.limits.usage("key", row.id).total
    finally:
        await running.close()
    passed = statuses.count(200)
    assert CENT <= spent <= CENT + reservation, (spent, reservation)
    assert passed == len(fake_openai.requests)  # nothing refused went upstream
    assert spent == passed * entry.cost_pico(Usage(6000, 500))
    assert (in_memory.cost, in_memory.requests) == (spent, passed)
    assert statuses.count(429) >= 200  # the last burst was refused whole


@pytest.mark.parametrize("stream", [False, True])
async def test_a_weekly_token_limit_refuses_until_monday(
    home: Path, fake_openai: FakeOpenAI, stream: bool
) -> None:
    point_openai_at(home, fake_openai.url)
    row, key = await mint_key(home, name="tokens")
    await add_limit(home, "key", row.id, "tokens", "weekly", 30)  # the fake answers 12 + 7 = 19 tokens
    running = await start_gateway(home)
    clock = Clock(WEDNESDAY).install(running)
    try:
        async with aiohttp.ClientSession() as session:
            body: dict[str, Any] = {"model": "openai/gpt-4o-mini", "stream": stream}
            assert (await chat(session, running, key, **body))[0] == 200
            assert (await chat(session, running, key, **body))[0] == 200  # 19 < 30: admitted
            status, headers, data = await chat(session, running, key, **body)
            assert status == 429 and data["error"]["code"] == "usage_limit_exceeded"
            assert "used 38 tokens of its weekly tokens limit of 30 tokens" in data["error"]["message"]
            monday = utc("2026-11-23T00:00:00")
            assert headers["Retry-After"] == str(int(monday - WEDNESDAY))
            assert "2026-11-23T00:00:00Z" in data["error"]["message"]
            assert len(fake_openai.requests) == 2
            clock.now = monday - 1
            assert (await chat(session, running, key, **body))[0] == 429
            clock.now = monday
            assert (await chat(session, running, key, **body))[0] == 200
    finally:
        await running.close()


async def test_a_team_limit_refuses_every_key_of_the_team_in_the_routes_shape(
    home: Path, fake_openai: FakeOpenAI
) -> None:
    point_openai_at(home, fake_openai.url)
    team = await add_team(home, "research")
    _, alice = await mint_key(home, name="alice", team_id=team.id)
    _, bob = await mint_key(home, name="bob", team_id=team.id)
    _, carol = await mint_key(home, name="carol")
    await add_limit(home, "team", team.id, "requests", "monthly", 2)
    running = await start_gateway(home)
    Clock(WEDNESDAY).install(running)
    try:
        async with aiohttp.ClientSession() as session:
            assert (await chat(session, running, alice))[0] == 200
            assert (await chat(session, running, bob))[0] == 200
            status, headers, data = await chat(
                session, running, alice, path="/messages", model="openai/gpt-4o-mini", max_tokens=20
            )
            assert status == 429
            assert data["type"] == "error" and data["error"]["type"] == "rate_limit_error"
            assert data["error"]["code"] == "usage_limit_exceeded"
            assert (
                "team 'research' has used 2 requests of its monthly requests limit"
                in data["error"]["message"]
            )
            assert headers["Retry-After"] == str(int(utc("2026-12-01T00:00:00") - WEDNESDAY))
            assert (await chat(session, running, bob))[0] == 429
            assert (await chat(session, running, carol))[0] == 200  # not on the team
    finally:
        await running.close()


async def test_a_restart_mid_window_continues_from_the_stored_usage(
    home: Path, fake_openai: FakeOpenAI
) -> None:
    point_openai_at(home, fake_openai.url)
    row, key = await mint_key(home, name="steady", rpm=3)
    await add_limit(home, "key", row.id, "requests", "daily", 5)
    await add_limit(home, "key", row.id, "cost", "all-time", 10**9)
    async with aiohttp.ClientSession() as session:
        first = await start_gateway(home)
        try:
            Clock(WEDNESDAY).install(first)
            for _ in range(3):
                assert (await chat(session, first, key, model="openai/gpt-4o-mini"))[0] == 200
            before = await key_info(session, first, key)
        finally:
            await first.close()

        second = await start_gateway(home)
        try:
            clock = Clock(WEDNESDAY + 10).install(second)
            after = await key_info(session, second, key)
            assert after["usage"] == before["usage"] and after["limits"] == before["limits"]
            # The sliding minute came back too: three requests ten seconds ago, --rpm 3.
            status, headers, data = await chat(session, second, key)
            assert status == 429 and data["error"]["code"] == "rate_limit_exceeded"
            assert headers["Retry-After"] == "50"
            clock.now = WEDNESDAY + 3600
            assert (await chat(session, second, key))[0] == 200
            assert (await chat(session, second, key))[0] == 200
            status, _, data = await chat(session, second, key)
            assert (
                status == 429
                and "used 5 requests of its daily requests limit of 5" in data["error"]["message"]
            )
            clock.now = utc("2026-11-19T00:00:00")  # the next day
            assert (await chat(session, second, key))[0] == 200
            report = await key_info(session, second, key)
        finally:
            await second.close()
    daily = next(limit for limit in report["limits"] if limit["window"] == "daily")
    assert (daily["usage"], daily["remaining"], daily["resets_at"]) == (1, 4, "2026-11-20T00:00:00Z")
    everything = next(limit for limit in report["limits"] if limit["window"] == "all-time")
    assert everything["usage"] == report["usage"]["all-time"]["spend"] == "0.000018"  # three priced requests
    assert everything["resets_at"] is None
    assert report["usage"]["all-time"]["requests"] == 6


async def test_sdks_do_not_retry_a_budget_refusal(home: Path, fake_openai: FakeOpenAI) -> None:
    point_openai_at(home, fake_openai.url)
    row, key = await mint_key(home, name="budget")
    await add_limit(home, "key", row.id, "requests", "daily", 1)
    running = await start_gateway(home)
    try:
        oa = openai.AsyncOpenAI(base_url=running.v1, api_key=key, max_retries=3)
        await oa.chat.completions.create(model="mock/echo", messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(openai.RateLimitError) as refused:
            await oa.chat.completions.create(model="mock/echo", messages=[{"role": "user", "content": "hi"}])
        assert refused.value.code == "usage_limit_exceeded"
        claude = anthropic.AsyncAnthropic(base_url=running.url, api_key=key, max_retries=3)
        with pytest.raises(anthropic.RateLimitError) as refused_too:
            await claude.messages.create(
                model="openai/gpt-4o-mini", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
            )
        assert "usage limit" in str(refused_too.value).lower()
    finally:
        await running.close()
    db = await open_store(home / "olga.db")
    try:
        async with db.conn.execute(
            "SELECT COUNT(*) FROM generations WHERE error = 'usage_limit_exceeded'"
        ) as cursor:
            row_count = await cursor.fetchone()
    finally:
        await db.close()
    assert row_count is not None and row_count[0] == 2  # one try each, no retries


async def test_a_limit_added_while_the_server_runs_applies_to_the_next_request(
    home: Path, fake_openai: FakeOpenAI
) -> None:
    point_openai_at(home, fake_openai.url)
    row, key = await mint_key(home, name="live")
    running = await start_gateway(home)
    try:
        async with aiohttp.ClientSession() as session:
            assert (await chat(session, running, key))[0] == 200
            limit = await add_limit(home, "key", row.id, "requests", "daily", 1)
            await running.refresh()
            status, _, data = await chat(session, running, key)
            assert status == 429 and f"(limit {limit.id})" in data["error"]["message"]
            shown = await key_info(session, running, key)
    finally:
        await running.close()
    assert shown["limits"][0]["usage"] == 1 and shown["limits"][0]["reached"] is True

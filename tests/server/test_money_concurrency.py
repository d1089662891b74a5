"""Concurrency never overspends: reservations are taken in memory before the call, settled after."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import aiohttp

from olga_cli.catalog import load_catalog
from olga_cli.providers.usage import Usage
from tests.fakes.gateway import configure, mint_key, start_gateway, store_totals
from tests.fakes.openai_upstream import FakeOpenAI, Script


async def test_200_concurrent_requests_on_credits_for_10_never_go_below_zero(
    home: Path, fake_openai: FakeOpenAI
) -> None:
    body = json.dumps(
        {
            "model": "openai/gpt-4o-mini",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "count to three"}],
        }
    ).encode()
    # The provider reports exactly the worst case olga reserves (every byte a token, all of max_tokens),
    # so the credits cover exactly ten requests and not one more.
    fake_openai.usage = {
        "prompt_tokens": len(body),
        "completion_tokens": 100,
        "total_tokens": len(body) + 100,
    }
    entry = load_catalog(home).resolve("openai/gpt-4o-mini")
    assert entry is not None
    worst = entry.cost_pico(Usage(len(body), 100), rate_multiplier=Decimal(1))
    configure(home, providers={"openai": {"base_url": fake_openai.url + "/v1", "api_key": "x"}})
    row, key = await mint_key(home, name="ten", credits_usd=str(Decimal(worst * 10) / 10**12))
    fake_openai.script(*[Script(delay=0.05) for _ in range(200)])
    running = await start_gateway(home)
    try:
        async with aiohttp.ClientSession() as session:

            async def one() -> int:
                async with session.post(
                    running.v1 + "/chat/completions", data=body, headers={"Authorization": f"Bearer {key}"}
                ) as reply:
                    await reply.read()
                    return reply.status

            statuses = await asyncio.gather(*(one() for _ in range(200)))
        state = running.gateway.snapshot.by_id[row.id]
        assert state.reserved == 0 and state.in_flight == 0
    finally:
        await running.close()
    assert statuses.count(200) == 10
    assert statuses.count(402) == 190
    credits, spent = await store_totals(home, row.id)
    assert spent == 10 * worst
    assert credits - spent == 0  # balance = top-ups minus ledger, exactly, and never below zero


async def test_settled_charges_equal_the_ledger_and_records(home: Path, fake_openai: FakeOpenAI) -> None:
    configure(home, providers={"openai": {"base_url": fake_openai.url + "/v1", "api_key": "x"}})
    row, key = await mint_key(home, name="many", credits_usd="1", rate_multiplier=Decimal("1.2"))
    running = await start_gateway(home)
    try:
        async with aiohttp.ClientSession() as session:

            async def one(stream: bool) -> int:
                payload = {
                    "model": "gpt-4o-mini",
                    "stream": stream,
                    "max_tokens": 50,
                    "messages": [{"role": "user", "content": "hi"}],
                }
                async with session.post(
                    running.v1 + "/chat/completions", json=payload, headers={"Authorization": f"Bearer {key}"}
                ) as reply:
                    await reply.read()
                    return reply.status

            statuses = await asyncio.gather(*(one(i % 2 == 0) for i in range(50)))
        assert statuses == [200] * 50
        db = running.gateway.db
        async with db.conn.execute(
            "SELECT COUNT(*), SUM(cost_pico) FROM generations WHERE key_id = ?", (row.id,)
        ) as cur:
            count, recorded = await cur.fetchone()
        state = running.gateway.snapshot.by_id[row.id]
        in_memory_spent = state.spent
    finally:
        await running.close()
    # (12 * 0.15 + 7 * 0.60) / 1e6 * 1.2 = 0.0000072 USD per request
    assert count == 50 and recorded == 50 * 7_200_000
    credits, spent = await store_totals(home, row.id)
    assert spent == recorded == in_memory_spent
    assert credits - spent == 10**12 - 50 * 7_200_000

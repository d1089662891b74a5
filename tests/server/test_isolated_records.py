"""One unstorable record never costs another request its record or charge.

Poisoned requests (a model name with a lone surrogate, headers whose bytes are not UTF-8) are sent
beside good ones, so they share the recorder's batches: every good request still gets its answer, its
record and its exact charge; the poisoned ones are stored sanitised and flagged; the key's balance in
memory equals credits minus the ledger.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from olga_cli.catalog import load_catalog
from olga_cli.providers.usage import Usage
from olga_cli.store.db import open_store
from tests.fakes.gateway import RunningGateway, mint_key, point_openai_at, start_gateway, store_totals
from tests.fakes.openai_upstream import FakeOpenAI

GOOD = 60
POISONED = 20


@pytest.fixture
async def olga(home: Path, fake_openai: FakeOpenAI) -> AsyncIterator[RunningGateway]:
    point_openai_at(home, fake_openai.url)
    running = await start_gateway(home)
    yield running
    await running.close()


async def raw_post(url: str, head: bytes, body: bytes) -> tuple[int, bytes]:
    """A request written byte for byte (no client library would send these headers)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: olga\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\n" + head + b"Content-Length: %d\r\n\r\n" % len(body) + body
        )
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    status = int(raw.split(b" ", 2)[1])
    return status, raw.partition(b"\r\n\r\n")[2]


def poisoned(index: int, key: str) -> tuple[bytes, bytes]:
    auth = f"Authorization: Bearer {key}\r\n".encode()
    chat = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    if index % 3 == 0:  # the model name carries a lone surrogate
        return auth, b'{"model": "\\ud800", "messages": [{"role": "user", "content": "hi"}]}'
    if index % 3 == 1:  # an app name that is not UTF-8
        return auth + b"X-Title: caf\xe9 \xff\xfe\r\n", json.dumps(chat).encode()
    return auth + b"X-Request-ID: req-\xc3\x28-\x80\r\n", json.dumps({**chat, "stream": True}).encode()


async def test_poisoned_requests_beside_good_ones_cost_the_good_ones_nothing(
    olga: RunningGateway, fake_openai: FakeOpenAI, home: Path
) -> None:
    row, key = await mint_key(home, name="shared", credits_usd="1")
    await olga.refresh()
    fake_openai.usage = {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500}
    auth = {"Authorization": f"Bearer {key}"}

    async def good(session: aiohttp.ClientSession, index: int) -> tuple[int, str]:
        payload = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": f"hello {index}"}]}
        if index % 2:
            payload["stream"] = True
        async with session.post(olga.v1 + "/chat/completions", json=payload, headers=auth) as reply:
            await reply.read()
            return reply.status, reply.headers["x-olga-generation-id"]

    async with aiohttp.ClientSession() as session:
        jobs = [good(session, i) for i in range(GOOD)]
        jobs += [raw_post(olga.url, *poisoned(i, key)) for i in range(POISONED)]  # type: ignore[misc]
        results = await asyncio.gather(*jobs)
    good_results = results[:GOOD]
    poisoned_results = results[GOOD:]
    assert all(status == 200 for status, _ in good_results), good_results

    price = load_catalog(home).resolve("openai/gpt-4o-mini").cost_pico(Usage(1000, 500))  # type: ignore[union-attr]
    db = await open_store(home / "olga.db")
    try:
        for _, generation_id in good_results:
            record = await db.records.get_generation(str(generation_id))
            assert record is not None, f"good request {generation_id} lost its record"
            assert (record.status, record.cost_pico, record.flags) == (200, price, [])
        async with db.conn.execute(
            "SELECT COUNT(*), SUM(amount_pico) FROM ledger WHERE key_id = ?", (row.id,)
        ) as c:
            count, total = await c.fetchone()  # type: ignore[misc]
        async with db.conn.execute("SELECT model_requested, app, request_id, flags FROM generations") as c:
            stored = [tuple(r) async for r in c]
    finally:
        await db.close()

    # The poisoned requests answered (400 for the unknown model, 200 for the others) and were kept.
    assert sorted({status for status, _ in poisoned_results}) == [200, 400]
    assert len(stored) == GOOD + POISONED
    sanitised = [s for s in stored if "sanitised" in s[3]]
    assert len(sanitised) == POISONED
    assert all("\ufffd" in (s[0] + (s[1] or "") + (s[2] or "")) for s in sanitised)
    charged_poisoned = sum(1 for status, _ in poisoned_results if status == 200)
    assert count == GOOD + charged_poisoned and total == price * count

    credits, spent = await store_totals(home, row.id)
    state = olga.gateway.snapshot.by_id[row.id]
    assert (state.spent, state.reserved, state.in_flight) == (spent, 0, 0)
    assert state.balance == credits - spent


async def test_a_provider_reporting_more_than_2_63_tokens_is_stored_clamped_and_charged_within_bounds(
    olga: RunningGateway, fake_openai: FakeOpenAI, home: Path
) -> None:
    row, key = await mint_key(home, name="absurd", credits_usd="1")
    await olga.refresh()
    fake_openai.usage = {"prompt_tokens": 2**64, "completion_tokens": 5, "total_tokens": 2**64 + 5}
    payload = {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 10,
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            olga.v1 + "/chat/completions", json=payload, headers={"Authorization": f"Bearer {key}"}
        ) as r,
    ):
        assert r.status == 200
        generation_id = r.headers["x-olga-generation-id"]
    db = await open_store(home / "olga.db")
    try:
        record = await db.records.get_generation(generation_id)
    finally:
        await db.close()
    assert record is not None and record.tokens_prompt == 2**63 - 1
    assert any(flag.startswith("usage_clamped: tokens_prompt") for flag in record.flags)
    assert any(flag.startswith("charge_capped:") for flag in record.flags)
    credits, spent = await store_totals(home, row.id)
    assert 0 < spent == record.cost_pico <= credits
    assert olga.gateway.snapshot.by_id[row.id].spent == spent

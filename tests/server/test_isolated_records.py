"""One unstorable record never costs another request its record or charge.

Poisoned requests (a model name with a lone surrogate, headers whose bytes are not UTF-8, a provider
streaming a lone surrogate) are sent beside good ones, so they share the recorder's batches: every
good request still gets its answer, its record and its exact charge; what reaches the recorder
poisoned is stored sanitised and flagged; the key's balance in memory equals credits minus the ledger.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from olga_cli.catalog import load_catalog
from olga_cli.providers.usage import Usage
from olga_cli.store.db import open_store
from tests.fakes.gateway import RunningGateway, mint_key, point_openai_at, start_gateway, store_totals
from tests.fakes.openai_upstream import FakeOpenAI
from tests.server.resilience_support import SECOND_MODEL, add_second_provider

GOOD = 60
POISONED = 20


@pytest.fixture
async def second() -> AsyncIterator[FakeOpenAI]:
    fake = await FakeOpenAI().start()
    yield fake
    await fake.close()


@pytest.fixture
async def olga(home: Path, fake_openai: FakeOpenAI, second: FakeOpenAI) -> AsyncIterator[RunningGateway]:
    point_openai_at(home, fake_openai.url)
    add_second_provider(home, second)
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
    olga: RunningGateway, fake_openai: FakeOpenAI, second: FakeOpenAI, home: Path
) -> None:
    """Poison from callers (stopped at the edge) and from a provider (a lone surrogate in its streamed
    text, which reaches the record): the good requests in the same batches keep everything."""
    row, key = await mint_key(home, name="shared", credits_usd="1")
    await olga.refresh()
    usage = {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500}
    fake_openai.usage = second.usage = usage
    second.reply = "bad \ud800 text"  # json.dumps sends it as the escape "\\ud800": valid JSON, no UTF-8
    auth = {"Authorization": f"Bearer {key}"}

    async def post(session: aiohttp.ClientSession, payload: dict[str, Any]) -> tuple[int, str]:
        async with session.post(olga.v1 + "/chat/completions", json=payload, headers=auth) as reply:
            await reply.read()
            return reply.status, reply.headers["x-olga-generation-id"]

    def chat(model: str, index: int) -> dict[str, Any]:
        return {
            "model": model,
            "messages": [{"role": "user", "content": f"hello {index}"}],
            "stream": index % 2 == 1,
        }

    async with aiohttp.ClientSession() as session:
        jobs: list[Any] = [post(session, chat("openai/gpt-4o-mini", i)) for i in range(GOOD)]
        jobs += [post(session, {**chat(SECOND_MODEL, i), "stream": True}) for i in range(POISONED)]
        jobs += [raw_post(olga.url, *poisoned(i, key)) for i in range(POISONED)]
        results = await asyncio.gather(*jobs)
    good = results[:GOOD]
    from_provider = results[GOOD : GOOD + POISONED]
    from_callers = results[GOOD + POISONED :]
    assert all(status == 200 for status, _ in good + from_provider), results

    catalog = load_catalog(home)
    price = catalog.resolve("openai/gpt-4o-mini").cost_pico(Usage(1000, 500))  # type: ignore[union-attr]
    db = await open_store(home / "olga.db")
    try:
        for _, generation_id in good:
            record = await db.records.get_generation(str(generation_id))
            assert record is not None, f"good request {generation_id} lost its record"
            assert (record.status, record.cost_pico, record.flags) == (200, price, [])
        for _, generation_id in from_provider:
            record = await db.records.get_generation(str(generation_id))
            assert record is not None and record.status == 200 and record.cost_pico == price
            assert record.flags == ["sanitised: response_body (text with lone surrogates replaced)"]
            assert record.response_body == "bad \ufffd text"
        async with db.conn.execute(
            "SELECT COUNT(*), SUM(amount_pico) FROM ledger WHERE key_id = ?", (row.id,)
        ) as c:
            count, total = await c.fetchone()  # type: ignore[misc]
    finally:
        await db.close()

    # Callers' poison is stopped at the edge (400) or dropped there (an unreadable header): answered.
    assert {status for status, _ in from_callers} <= {200, 400}
    charged_callers = sum(1 for status, _ in from_callers if status == 200)
    assert count == GOOD + POISONED + charged_callers and total == price * count

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

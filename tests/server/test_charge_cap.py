"""A charge never exceeds what was reserved for the request; images and files count in the reservation.

A provider reporting absurd usage (10M prompt tokens for a two-word question) cannot take a key below
zero: the charge is capped at the reservation, the reported usage is kept and the record is flagged.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from olga_cli.catalog import load_catalog
from olga_cli.gateway.admission.metering import IMAGE_TOKENS
from olga_cli.providers.usage import Usage
from olga_cli.store.db import open_store
from tests.fakes.gateway import RunningGateway, mint_key, point_openai_at, start_gateway, store_totals
from tests.fakes.openai_upstream import FakeOpenAI

ABSURD = {"prompt_tokens": 10_000_000, "completion_tokens": 1_000_000, "total_tokens": 11_000_000}


@pytest.fixture
async def olga(home: Path, fake_openai: FakeOpenAI) -> AsyncIterator[RunningGateway]:
    point_openai_at(home, fake_openai.url)
    running = await start_gateway(home)
    yield running
    await running.close()


async def post(olga: RunningGateway, key: str, payload: dict[str, Any]) -> tuple[int, str, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            olga.v1 + "/chat/completions", json=payload, headers={"Authorization": f"Bearer {key}"}
        ) as reply,
    ):
        return reply.status, reply.headers.get("x-olga-generation-id", ""), await reply.read()


def fake_openai_body_of(payload: dict[str, Any]) -> bytes:
    """The request body as aiohttp's ``json=`` sends it (the reservation's input bound is its length)."""
    return json.dumps(payload).encode()


def reserved_for(home: Path, payload: dict[str, Any], input_tokens: int) -> int:
    entry = load_catalog(home).resolve("openai/gpt-4o-mini")
    assert entry is not None
    return entry.cost_pico(Usage(input_tokens, payload["max_tokens"]))


@pytest.mark.parametrize("stream", [False, True])
async def test_absurd_usage_is_charged_at_most_the_reservation_and_flagged(
    olga: RunningGateway, fake_openai: FakeOpenAI, home: Path, stream: bool
) -> None:
    row, key = await mint_key(home, name="small", credits_usd="1")
    await olga.refresh()
    fake_openai.usage = ABSURD
    payload = {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 50,
    }
    if stream:
        payload |= {"stream": True, "stream_options": {"include_usage": True}}
    status, generation_id, _ = await post(olga, key, payload)
    assert status == 200

    credits, spent = await store_totals(home, row.id)
    db = await open_store(home / "olga.db")
    try:
        stored = await db.records.get_generation(generation_id)
    finally:
        await db.close()
    assert stored is not None
    reserved = reserved_for(home, payload, len(fake_openai_body_of(payload)))
    assert stored.cost_pico == spent == reserved
    assert (stored.tokens_prompt, stored.tokens_completion) == (10_000_000, 1_000_000)  # as reported
    assert len(stored.flags) == 1 and stored.flags[0].startswith(
        "charge_capped: the usage reported (10000000"
    )
    state = olga.gateway.snapshot.by_id[row.id]
    assert state.spent == spent and state.balance == credits - spent > 0


async def test_an_image_by_url_is_reserved_for_so_its_real_cost_is_charged_in_full(
    olga: RunningGateway, fake_openai: FakeOpenAI, home: Path
) -> None:
    """A URL is a few bytes, an image thousands of tokens: the reservation counts the image's worst case."""
    row, key = await mint_key(home, name="vision", credits_usd="1")
    await olga.refresh()
    fake_openai.usage = {"prompt_tokens": 25_501, "completion_tokens": 20, "total_tokens": 25_521}
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "high"}}
    content = [{"type": "text", "text": "What is this?"}, image]
    payload = {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": content}],
        "max_tokens": 50,
    }
    status, _, _ = await post(olga, key, payload)
    assert status == 200
    entry = load_catalog(home).resolve("openai/gpt-4o-mini")
    assert entry is not None
    _, spent = await store_totals(home, row.id)
    assert spent == entry.cost_pico(Usage(25_501, 20))  # in full: nothing capped
    assert IMAGE_TOKENS >= 25_501


async def test_a_balance_that_cannot_cover_an_images_worst_case_gets_402_before_the_call(
    olga: RunningGateway, fake_openai: FakeOpenAI, home: Path
) -> None:
    _, key = await mint_key(home, name="thin", credits_usd="0.001")
    await olga.refresh()
    images = [{"type": "image_url", "image_url": {"url": f"https://example.com/{i}.png"}} for i in range(5)]
    payload = {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": images}],
        "max_tokens": 50,
    }
    status, _, body = await post(olga, key, payload)  # 5 images may cost 250,000 tokens: $0.0375 > $0.001
    assert status == 402 and b"insufficient_credits" in body
    assert fake_openai.requests == []

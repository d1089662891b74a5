"""Team mode takes a request's hold while it prepares the upstream call: the hold's round trip overlaps
screening, routing and Redis's circuits, and nothing leaves for the provider until the store granted
it. A refusal answers as when the hold came first, sends nothing upstream and leaves nothing held."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web

from olga_cli.config import load_config
from olga_cli.money import pico_to_usd
from olga_cli.server.app import create_app
from olga_cli.server.runner import OlgaRunner
from olga_cli.store.base import Store
from olga_cli.store.db import open_store
from olga_cli.store.holds import HoldRequest
from tests.fakes.gateway import point_openai_at
from tests.fakes.openai_upstream import FakeOpenAI
from tests.server.guardrails_support import OPENAI_KEY

CHAT = {"model": "openai/gpt-4o-mini", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
CREDITS = 10**12  # $1
OTHER = "olga-another-instance"


@asynccontextmanager
async def store_at(pg_url: str) -> AsyncIterator[Store]:
    store = await open_store(pg_url)
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def gateway(home: Path, pg_url: str) -> AsyncIterator[str]:
    app = create_app(load_config(home, database_url=pg_url))
    runner = OlgaRunner(app, access_log=None, shutdown_timeout=5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1/chat/completions"
    finally:
        await runner.cleanup()


async def post(url: str, key: str, body: dict[str, Any] = CHAT) -> tuple[int, dict[str, Any], str]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=body, headers={"Authorization": f"Bearer {key}"}) as reply:
            return reply.status, await reply.json(), reply.headers["x-olga-generation-id"]


async def held(pg_url: str) -> tuple[list[str], int]:
    """(the instances holding something, the keys' reserved credits in all) as the store has them."""
    conn = await asyncpg.connect(pg_url)
    try:
        instances = [r["instance"] for r in await conn.fetch("SELECT instance FROM holds ORDER BY instance")]
        reserved = await conn.fetchval("SELECT COALESCE(SUM(reserved), 0) FROM balances")
        return instances, int(reserved)
    finally:
        await conn.close()


async def given_back(pg_url: str) -> tuple[list[str], int]:
    """``held`` once nothing is: a request's hold ends with it, a slice of credit (``slices.py``) once
    it has been idle for a second (up to 5 s here)."""
    for _ in range(100):
        if await held(pg_url) == ([], 0):
            break
        await asyncio.sleep(0.05)
    return await held(pg_url)


async def another_instance_holds(pg_url: str, key_id: str, credits: int) -> None:
    """Another live instance's request in flight, holding ``credits`` of the key (this instance's
    memory knows nothing of it: only the store's hold can refuse)."""
    async with store_at(pg_url) as store:
        await store.holds.beat(OTHER, time.time() + 3600)  # its lease outlives the test
        hold = HoldRequest(
            id="held-elsewhere",
            instance=OTHER,
            key_id=key_id,
            team_id=None,
            at=time.time(),
            capped=True,
            credits=credits,
            cost=credits,
            tokens=0,
            rate_tokens=0,
            rpm=None,
            tpm=None,
        )
        assert await store.holds.take(hold) is None


async def end_the_other_hold(pg_url: str) -> None:
    async with store_at(pg_url) as store:
        await store.holds.release("held-elsewhere")


async def test_a_refused_hold_sends_nothing_upstream_and_answers_as_before(
    home: Path, pg_url: str, fake_openai: FakeOpenAI
) -> None:
    point_openai_at(home, fake_openai.url)
    async with store_at(pg_url) as store:
        row, key = await store.keys.create_key(name="overlapped", credits_pico=CREDITS)
        await store.guardrails.create_guardrail(
            name="no-secrets", scope="global", scope_id=None, type="secrets", stage="input", action="block"
        )
    left = 1000  # pico: less than any worst case of CHAT
    async with gateway(home, pg_url) as url:
        await another_instance_holds(pg_url, row.id, CREDITS - left)
        blocked = {**CHAT, "messages": [{"role": "user", "content": f"my key is {OPENAI_KEY}"}]}
        for body in (CHAT, blocked):  # the refusal answers first, even where the guardrail would block
            status, answer, generation_id = await post(url, key, body)
            assert status == 402
            assert answer["error"]["message"] == (
                "Insufficient credits: the key's balance, counting the requests in flight on every "
                f"instance, is ${pico_to_usd(left)}. Top up with `olga credits topup overlapped USD` "
                "or lower max_tokens."
            )
            assert fake_openai.requests == []
            assert await held(pg_url) == ([OTHER], CREDITS - left)  # nothing of this instance held
        await end_the_other_hold(pg_url)
        assert (await post(url, key, blocked))[0] == 422  # granted: now the guardrail answers
        status, _, generation_id = await post(url, key)
        assert status == 200 and len(fake_openai.requests) == 1
        assert await held(pg_url) == ([], 0)
    async with store_at(pg_url) as store:
        record = await store.records.get_generation(generation_id)
        assert record is not None and record.status == 200 and len(record.attempts) == 1
        refused = [r for _, r in await store.records.recent_generations(status=402)]
        assert len(refused) == 2
        assert all(r.attempts == [] and r.cost_pico == 0 and r.model == "openai/gpt-4o-mini" for r in refused)


@asynccontextmanager
async def key_lock(pg_url: str, key_id: str) -> AsyncIterator[None]:
    """Hold the key's lock that ``olga_take_hold`` takes first: the store's answer waits for it."""
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("SELECT pg_advisory_lock(hashtext('olga-key:' || current_schema() || $1))", key_id)
        try:
            yield
        finally:
            await conn.execute(
                "SELECT pg_advisory_unlock(hashtext('olga-key:' || current_schema() || $1))", key_id
            )
    finally:
        await conn.close()


async def test_nothing_leaves_before_the_hold_is_granted(
    home: Path, pg_url: str, fake_openai: FakeOpenAI
) -> None:
    point_openai_at(home, fake_openai.url)
    async with store_at(pg_url) as store:
        row, key = await store.keys.create_key(name="waiting", credits_pico=CREDITS)
    async with gateway(home, pg_url) as url:
        async with key_lock(pg_url, row.id):
            waiting = asyncio.create_task(post(url, key))
            await asyncio.sleep(0.5)  # long enough for everything before the upstream call
            assert fake_openai.requests == [] and not waiting.done()
        status, _, _ = await asyncio.wait_for(waiting, 10)
        assert status == 200 and len(fake_openai.requests) == 1
        assert await given_back(pg_url) == ([], 0)


async def test_a_caller_gone_while_the_hold_is_taken_leaves_nothing_held(
    home: Path, pg_url: str, fake_openai: FakeOpenAI
) -> None:
    """The store grants the hold after the caller left: it is given back, and nothing went upstream."""
    point_openai_at(home, fake_openai.url)
    async with store_at(pg_url) as store:
        row, key = await store.keys.create_key(name="leaving", credits_pico=CREDITS)
    async with gateway(home, pg_url) as url:
        async with key_lock(pg_url, row.id):
            timeout = aiohttp.ClientTimeout(total=0.5)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                try:
                    async with session.post(url, json=CHAT, headers={"Authorization": f"Bearer {key}"}):
                        raise AssertionError("answered while the store could not")
                except TimeoutError:
                    pass  # the caller leaves while the hold waits for the key's lock
            await asyncio.sleep(0.3)  # olga notices the caller is gone
        # the lock is free: the hold (here a slice of the key's credit) is granted, then given back
        assert await given_back(pg_url) == ([], 0)
        assert fake_openai.requests == []
        status, _, _ = await post(url, key)  # and the key's whole balance is there for the next one
        assert status == 200


async def test_a_refused_hold_answers_before_a_paused_provider_does(
    home: Path, pg_url: str, fake_openai: FakeOpenAI
) -> None:
    """Every target skipped while the hold was being taken: the refusal still answers, as when it
    came first, and the record has no skipped attempt; once granted, the provider's pause answers."""
    point_openai_at(home, fake_openai.url, paused=True)
    async with store_at(pg_url) as store:
        row, key = await store.keys.create_key(name="paused", credits_pico=CREDITS)
    async with gateway(home, pg_url) as url:
        await another_instance_holds(pg_url, row.id, CREDITS - 1000)
        status, answer, refused_id = await post(url, key)
        assert status == 402 and answer["error"]["message"].startswith("Insufficient credits")
        await end_the_other_hold(pg_url)
        status, answer, paused_id = await post(url, key)
        assert status == 429 and answer["error"]["code"] == "provider_paused"
        assert fake_openai.requests == [] and await held(pg_url) == ([], 0)
    async with store_at(pg_url) as store:
        refused = await store.records.get_generation(refused_id)
        paused = await store.records.get_generation(paused_id)
        assert refused is not None and refused.status == 402 and refused.attempts == []
        assert paused is not None and paused.attempts[0].error.startswith("provider_paused")  # type: ignore[union-attr]

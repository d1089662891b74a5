"""What one request costs PostgreSQL, counted in statements sent (each one round trip), which does not
depend on the machine's load as timings do: a guard on team mode's hot path."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from olga_cli.config import load_config
from olga_cli.store.db import open_store
from tests.fakes.gateway import point_openai_at
from tests.fakes.openai_upstream import FakeOpenAI
from tests.server.test_process import free_port

CHAT = {"model": "openai/gpt-4o-mini", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every statement the gateway's pool sends, by its first words."""
    sent: Counter[str] = Counter()
    create_pool = asyncpg.create_pool

    def counting_pool(*args: Any, **kwargs: Any) -> Any:
        async def init(conn: asyncpg.Connection) -> None:
            conn.add_query_logger(lambda record: sent.update([" ".join(record.query.split()[:3])]))

        return create_pool(*args, init=init, **kwargs)

    monkeypatch.setattr(asyncpg, "create_pool", counting_pool)
    return sent


async def requests_statements(
    home: Path, pg_url: str, fake_openai: FakeOpenAI, statements: Counter[str], credits: int | None
) -> dict[str, float]:
    """The statements sent per request, of ten in a row by one key holding ``credits``, after a first
    that prepares what the others reuse; the lease's own (a beat a second) left out."""
    from aiohttp import web

    from olga_cli.server.app import create_app
    from olga_cli.server.runner import OlgaRunner

    point_openai_at(home, fake_openai.url)
    store = await open_store(pg_url)
    try:
        _, key = await store.keys.create_key(name="counted", credits_pico=credits)
    finally:
        await store.close()
    app = create_app(load_config(home, database_url=pg_url))
    runner = OlgaRunner(app, access_log=None, shutdown_timeout=5)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as session:

            async def one() -> None:
                url = f"http://127.0.0.1:{port}/v1/chat/completions"
                async with session.post(url, json=CHAT, headers={"Authorization": f"Bearer {key}"}) as reply:
                    assert reply.status == 200
                    await reply.read()

            await one()
            statements.clear()
            for _ in range(10):
                await one()  # its record is committed before its answer ends
    finally:
        await runner.cleanup()
    # Once a request or more: the request's own. Less often: the lease's beat (once a second), the
    # watcher reloading the store after a notification, a new pool connection's type look-ups.
    lease = ("INSERT INTO instances", "UPDATE instances", "WITH dead AS")
    return {w: n / 10 for w, n in statements.items() if n >= 10 and not w.startswith(lease)}


async def test_a_request_of_a_key_with_money_to_spare_costs_one_statement(
    home: Path, pg_url: str, fake_openai: FakeOpenAI, statements: Counter[str]
) -> None:
    # The batch alone: one call of olga_write_batch (its lock, the record, the charge with the key's
    # spend, the draw on the slice of credit the request was admitted against, the roll-ups, the
    # admission with its daily usage) committed on its own. The first request took the slice.
    # (2 before slices, migration 019; 8 before migration 012 made the batch one function; 14 before
    # the pool stopped resetting connections and the batch merged its statements.)
    per_request = await requests_statements(home, pg_url, fake_openai, statements, 10**12)
    assert per_request == {"SELECT olga_write_batch($1::jsonb, $2,": 1}


async def test_a_request_of_a_key_near_its_end_takes_a_hold_first(
    home: Path, pg_url: str, fake_openai: FakeOpenAI, statements: Counter[str]
) -> None:
    """Credits for a few dozen such requests: too few to slice, so each is held on its own, exactly."""
    per_request = await requests_statements(home, pg_url, fake_openai, statements, 10**9)
    assert per_request == {
        "SELECT olga_take_hold($1, $2,": 1,
        "SELECT olga_write_batch($1::jsonb, $2,": 1,
    }


async def test_a_request_of_a_key_without_credits_or_limits_costs_one_statement(
    home: Path, pg_url: str, fake_openai: FakeOpenAI, statements: Counter[str]
) -> None:
    """Nothing for the store to check before the upstream call: no hold, the batch alone."""
    per_request = await requests_statements(home, pg_url, fake_openai, statements, None)
    assert per_request == {"SELECT olga_write_batch($1::jsonb, $2,": 1}

"""`olga serve --workers N`: N processes on one port in team mode; refused on SQLite."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import aiohttp

from olga_cli.store.db import open_store
from tests.cli.helpers import olga
from tests.team.instances import start_instance


def test_workers_are_refused_on_sqlite_with_what_to_do(home: Path) -> None:
    result = olga("serve", "--workers", "2")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --workers needs team mode") and "--database-url" in result.stderr


def test_redis_without_a_shared_store_is_refused_with_what_to_do(home: Path) -> None:
    result = olga("serve", "--redis-url", "redis://127.0.0.1:6379")
    assert result.exit_code == 1
    assert (
        result.stderr.startswith("error: --redis-url needs team mode") and "--database-url" in result.stderr
    )
    result = olga("serve", "--redis-url", "memcached://127.0.0.1")
    assert result.exit_code == 1 and "takes a redis:// URL" in result.stderr


async def test_workers_share_one_port_and_the_store(home: Path, pg_url: str) -> None:
    store = await open_store(pg_url)
    try:
        _, key = await store.keys.create_key(name="w", rpm=30)
        pool = store.pool  # type: ignore[attr-defined]
        server = await start_instance(home, pg_url, "--workers", "2")
        try:
            for _ in range(100):  # both workers hold a lease: two processes behind the port
                if await pool.fetchval("SELECT COUNT(*) FROM instances") == 2:
                    break
                await asyncio.sleep(0.1)
            assert await pool.fetchval("SELECT COUNT(*) FROM instances") == 2
            # New connections each time, so the kernel spreads them; --rpm holds over both workers.
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:

                async def one() -> int:
                    async with session.post(
                        server.url + "/v1/chat/completions",
                        json={"model": "mock/echo", "messages": [{"role": "user", "content": "hi"}]},
                        headers={"Authorization": f"Bearer {key}"},
                    ) as reply:
                        await reply.read()
                        return reply.status

                statuses = Counter(await asyncio.gather(*(one() for _ in range(60))))
            assert statuses == Counter({200: 30, 429: 30})
        finally:
            await server.stop()  # SIGTERM to the supervisor reaches every worker
        assert server.process.returncode == 0
        assert await pool.fetchval("SELECT COUNT(*) FROM instances") == 0  # each left cleanly
    finally:
        await store.close()

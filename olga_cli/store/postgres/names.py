"""Names of live keys and teams in the team's PostgreSQL store, read for shell completion: one
connection with a short timeout, one read-only statement, no pool and no migration."""

from __future__ import annotations

import asyncio

import asyncpg

from olga_cli.store.names import NAME_QUERIES, Named

TIMEOUT = 1.0  # seconds: a <Tab> that waits longer than this for a server offers nothing instead


def live_names(url: str, table: Named) -> list[str]:
    """Names in ``table``; none when the server cannot be reached in time or has no olga schema."""
    try:
        return asyncio.run(asyncio.wait_for(_read(url, NAME_QUERIES[table]), TIMEOUT))
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError):
        return []


async def _read(url: str, sql: str) -> list[str]:
    conn = await asyncpg.connect(url, timeout=TIMEOUT)
    try:
        async with conn.transaction(readonly=True):
            return [str(row[0]) for row in await conn.fetch(sql)]
    finally:
        await conn.close()

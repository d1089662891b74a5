"""Read-only looks at a PostgreSQL store for `olga doctor`: no migration, no table created."""

from __future__ import annotations

import asyncio

import asyncpg

from olga_cli.store.postgres.connection import redact
from olga_cli.store.postgres.migrations import MIGRATIONS

KNOWN_MIGRATIONS: tuple[str, ...] = tuple(name for name, _ in MIGRATIONS)


async def _applied(url: str) -> set[str]:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        exists = await conn.fetchval("SELECT to_regclass('migrations') IS NOT NULL")
        if not exists:
            return set()
        return {row["name"] for row in await conn.fetch("SELECT name FROM migrations")}
    finally:
        await conn.close()


def applied_migrations(url: str) -> set[str]:
    """The migrations applied to the store at ``url``; OSError or asyncpg's errors when unreachable,
    with the password left out of any message by the caller (``redact``)."""
    return asyncio.run(_applied(url))


__all__ = ["KNOWN_MIGRATIONS", "applied_migrations", "redact"]

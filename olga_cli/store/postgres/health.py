"""Provider API key health in PostgreSQL; a reset (`olga providers resume`) reaches every instance."""

from __future__ import annotations

import asyncpg

from olga_cli.store.postgres.connection import notify, transaction
from olga_cli.store.provider_health import RESET, KeyHealthRow


class PostgresHealth:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def load(self) -> tuple[list[KeyHealthRow], dict[str, float]]:
        rows = [
            KeyHealthRow(*tuple(row))
            for row in await self._pool.fetch(
                "SELECT provider, key_label, fingerprint, state, status, reason, until, updated_at, strikes"
                " FROM provider_health"
            )
        ]
        resets = {row.provider: row.updated_at for row in rows if row.key_label == RESET}
        marks = [
            r for r in rows if r.key_label != RESET and r.updated_at > resets.get(r.provider, float("-inf"))
        ]
        return marks, resets

    async def reset(self, provider: str, *, now: float) -> None:
        async with transaction(self._pool) as conn:
            await conn.execute("DELETE FROM provider_health WHERE provider = $1", provider)
            await conn.execute(
                "INSERT INTO provider_health (provider, key_label, fingerprint, state, updated_at)"
                " VALUES ($1, $2, '', 'reset', $3)",
                provider,
                RESET,
                now,
            )
            await notify(conn)

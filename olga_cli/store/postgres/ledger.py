"""Credits and charges in PostgreSQL; ``balances`` keeps each key's sums beside the rows."""

from __future__ import annotations

import time

import asyncpg

from olga_cli.store.ledger import ALL_KEY_TOTALS_SQL, CreditEntry
from olga_cli.store.postgres.connection import notify, transaction


class PostgresLedger:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add_credits(self, key_id: str, amount_pico: int, note: str | None = None) -> None:
        now = time.time()
        async with transaction(self._pool) as conn:
            await conn.execute(
                "INSERT INTO credits (key_id, amount_pico, note, created_at) VALUES ($1, $2, $3, $4)",
                key_id,
                amount_pico,
                note,
                now,
            )
            await conn.execute(
                "INSERT INTO balances (key_id, credits) VALUES ($1, $2)"
                " ON CONFLICT (key_id) DO UPDATE SET credits = balances.credits + excluded.credits",
                key_id,
                amount_pico,
            )
            await conn.execute(
                "UPDATE keys SET credits_enabled = 1, updated_at = $1 WHERE id = $2", now, key_id
            )
            await notify(conn)

    async def credit_totals(self) -> dict[str, int]:
        rows = await self._pool.fetch("SELECT key_id, SUM(amount_pico) AS s FROM credits GROUP BY key_id")
        return {row["key_id"]: int(row["s"]) for row in rows}

    async def spend_totals(self) -> dict[str, int]:
        rows = await self._pool.fetch("SELECT key_id, SUM(amount_pico) AS s FROM ledger GROUP BY key_id")
        return {row["key_id"]: int(row["s"]) for row in rows}

    async def key_totals(self, key_id: str) -> tuple[int, int]:
        row = await self._pool.fetchrow(
            "SELECT (SELECT COALESCE(SUM(amount_pico), 0) FROM credits WHERE key_id = $1) AS credits,"
            " (SELECT COALESCE(SUM(amount_pico), 0) FROM ledger WHERE key_id = $1) AS spent",
            key_id,
        )
        assert row is not None
        return int(row["credits"]), int(row["spent"])

    async def all_key_totals(self) -> dict[str, tuple[int, int]]:
        rows = await self._pool.fetch(ALL_KEY_TOTALS_SQL)
        return {row["id"]: (int(row["credits"]), int(row["spent"])) for row in rows}

    async def credit_history(self, key_id: str) -> list[CreditEntry]:
        rows = await self._pool.fetch(
            "SELECT id, key_id, amount_pico, note, created_at FROM credits WHERE key_id = $1 ORDER BY id",
            key_id,
        )
        return [CreditEntry(r["id"], r["key_id"], r["amount_pico"], r["note"], r["created_at"]) for r in rows]

    async def charge_summary(self, key_id: str) -> tuple[int, int]:
        row = await self._pool.fetchrow(
            "SELECT COUNT(*) AS n, COALESCE(SUM(amount_pico), 0) AS s FROM ledger WHERE key_id = $1", key_id
        )
        assert row is not None
        return int(row["n"]), int(row["s"])

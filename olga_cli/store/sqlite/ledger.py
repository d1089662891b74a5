"""Credits and charges in SQLite."""

from __future__ import annotations

import time

import aiosqlite

from olga_cli.store.ledger import ALL_KEY_TOTALS_SQL, CreditEntry
from olga_cli.store.sqlite.connection import transaction


class SqliteLedger:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def add_credits(self, key_id: str, amount_pico: int, note: str | None = None) -> None:
        async with transaction(self._db) as db:
            await db.execute(
                "INSERT INTO credits (key_id, amount_pico, note, created_at) VALUES (?, ?, ?, ?)",
                (key_id, amount_pico, note, time.time()),
            )
            await db.execute(
                "UPDATE keys SET credits_enabled = 1, updated_at = ? WHERE id = ?", (time.time(), key_id)
            )

    async def credit_totals(self) -> dict[str, int]:
        async with self._db.execute("SELECT key_id, SUM(amount_pico) FROM credits GROUP BY key_id") as cursor:
            return {row[0]: int(row[1]) async for row in cursor}

    async def spend_totals(self) -> dict[str, int]:
        async with self._db.execute("SELECT key_id, SUM(amount_pico) FROM ledger GROUP BY key_id") as cursor:
            return {row[0]: int(row[1]) async for row in cursor}

    async def key_totals(self, key_id: str) -> tuple[int, int]:
        async with self._db.execute(
            "SELECT (SELECT COALESCE(SUM(amount_pico), 0) FROM credits WHERE key_id = ?),"
            " (SELECT COALESCE(SUM(amount_pico), 0) FROM ledger WHERE key_id = ?)",
            (key_id, key_id),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    async def all_key_totals(self) -> dict[str, tuple[int, int]]:
        async with self._db.execute(ALL_KEY_TOTALS_SQL) as cursor:
            return {row[0]: (int(row[1]), int(row[2])) async for row in cursor}

    async def credit_history(self, key_id: str) -> list[CreditEntry]:
        async with self._db.execute(
            "SELECT id, key_id, amount_pico, note, created_at FROM credits WHERE key_id = ? ORDER BY id",
            (key_id,),
        ) as cursor:
            return [CreditEntry(row[0], row[1], row[2], row[3], row[4]) async for row in cursor]

    async def charge_summary(self, key_id: str) -> tuple[int, int]:
        async with self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(amount_pico), 0) FROM ledger WHERE key_id = ?", (key_id,)
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

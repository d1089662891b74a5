"""Credits and charges. A key's balance is always SUM(credits) - SUM(ledger), both integers."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True, slots=True)
class CreditEntry:
    id: int
    key_id: str
    amount_pico: int
    note: str | None
    created_at: float


async def add_credits(
    db: aiosqlite.Connection, key_id: str, amount_pico: int, note: str | None = None
) -> None:
    await db.execute("BEGIN IMMEDIATE")
    try:
        await db.execute(
            "INSERT INTO credits (key_id, amount_pico, note, created_at) VALUES (?, ?, ?, ?)",
            (key_id, amount_pico, note, time.time()),
        )
        await db.execute(
            "UPDATE keys SET credits_enabled = 1, updated_at = ? WHERE id = ?", (time.time(), key_id)
        )
        await db.execute("COMMIT")
    except BaseException:
        await db.execute("ROLLBACK")
        raise


async def credit_totals(db: aiosqlite.Connection) -> dict[str, int]:
    async with db.execute("SELECT key_id, SUM(amount_pico) FROM credits GROUP BY key_id") as cursor:
        return {row[0]: int(row[1]) async for row in cursor}


async def spend_totals(db: aiosqlite.Connection) -> dict[str, int]:
    async with db.execute("SELECT key_id, SUM(amount_pico) FROM ledger GROUP BY key_id") as cursor:
        return {row[0]: int(row[1]) async for row in cursor}


async def key_totals(db: aiosqlite.Connection, key_id: str) -> tuple[int, int]:
    """(credits, spend) of one key, read in one snapshot so the balance is consistent."""
    async with db.execute(
        "SELECT (SELECT COALESCE(SUM(amount_pico), 0) FROM credits WHERE key_id = ?),"
        " (SELECT COALESCE(SUM(amount_pico), 0) FROM ledger WHERE key_id = ?)",
        (key_id, key_id),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def credit_history(db: aiosqlite.Connection, key_id: str) -> list[CreditEntry]:
    async with db.execute(
        "SELECT id, key_id, amount_pico, note, created_at FROM credits WHERE key_id = ? ORDER BY id",
        (key_id,),
    ) as cursor:
        return [CreditEntry(row[0], row[1], row[2], row[3], row[4]) async for row in cursor]


async def charge_summary(db: aiosqlite.Connection, key_id: str) -> tuple[int, int]:
    """(number of charged requests, total charged) for a key."""
    async with db.execute(
        "SELECT COUNT(*), COALESCE(SUM(amount_pico), 0) FROM ledger WHERE key_id = ?", (key_id,)
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])

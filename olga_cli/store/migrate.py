"""`olga store migrate`: a developer's SQLite store copied into PostgreSQL, so it becomes the team's.

Every table is copied column for column (the two schemas hold the same rows), in one PostgreSQL
transaction, into a store that must still be empty; records keep their order. Then the copy is
verified before it commits: the row count of every table, and every key's credits and spend, must be
the same on both sides. Team mode's own state (``balances``) is computed from the copied credits and
ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from olga_cli.errors import StoreError
from olga_cli.store.postgres import connection as pg
from olga_cli.store.sqlite import connection as lite
from olga_cli.store.sqlite.records import BODY_SQL

# In an order that satisfies the foreign keys; generations in the order they were written.
TABLES: tuple[tuple[str, str], ...] = (
    ("teams", "rowid"),
    ("keys", "rowid"),
    ("credits", "id"),
    ("ledger", "id"),
    ("generations", "rowid"),
    ("limits", "id"),
    ("limit_alerts", "id"),
    ("admissions", "id"),
    ("usage_daily", "scope, scope_id, day"),
    ("usage_hourly", "hour"),
    ("usage_labels_hourly", "hour, kind, label"),
    ("guardrails", "id"),
    ("guardrail_violations", "id"),
    ("provider_health", "rowid"),
    ("response_items", "created_at, id"),
)
_IDENTITY = (
    "credits",
    "ledger",
    "limits",
    "limit_alerts",
    "admissions",
    "guardrails",
    "guardrail_violations",
)


@dataclass
class Copied:
    counts: dict[str, int] = field(default_factory=dict)
    keys: int = 0
    credits: int = 0  # picodollars, all keys
    spent: int = 0


async def _columns(conn: Any, table: str) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'"
        " AND column_name != 'seq' ORDER BY ordinal_position",
        table,
    )
    return [(row["column_name"], row["data_type"]) for row in rows]


def _convert(value: Any, data_type: str) -> Any:
    if value is None:
        return None
    if data_type == "double precision":
        return float(value)
    if data_type in ("bigint", "integer"):
        return int(value)
    return value


async def _totals_sqlite(db: Any) -> dict[str, tuple[int, int]]:
    sql = (
        "SELECT k.id, (SELECT COALESCE(SUM(amount_pico), 0) FROM credits WHERE key_id = k.id),"
        " (SELECT COALESCE(SUM(amount_pico), 0) FROM ledger WHERE key_id = k.id) FROM keys k"
    )
    async with db.execute(sql) as cursor:
        return {row[0]: (int(row[1]), int(row[2])) async for row in cursor}


async def _totals_postgres(conn: Any) -> dict[str, tuple[int, int]]:
    rows = await conn.fetch(
        "SELECT k.id, (SELECT COALESCE(SUM(amount_pico), 0) FROM credits WHERE key_id = k.id) AS c,"
        " (SELECT COALESCE(SUM(amount_pico), 0) FROM ledger WHERE key_id = k.id) AS s FROM keys k"
    )
    return {row["id"]: (int(row["c"]), int(row["s"])) for row in rows}


async def migrate_store(source: Path, url: str) -> Copied:
    """Copy the SQLite store at ``source`` into the (empty) PostgreSQL store at ``url``, verified."""
    db = await lite.connect(source)  # migrated to the newest schema first, like any olga command
    try:
        pool = await pg.connect(url, max_size=2)
        try:
            return await _copy(db, pool)
        finally:
            await pool.close()
    finally:
        await db.close()


async def _copy(db: Any, pool: asyncpg.Pool) -> Copied:
    copied = Copied()
    async with pg.transaction(pool) as conn:
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM keys) OR EXISTS (SELECT 1 FROM generations)"):
            raise StoreError("the PostgreSQL store is not empty; migrate into a new database or schema")
        for table, order in TABLES:
            columns = await _columns(conn, table)
            names = [name for name, _ in columns]
            # PostgreSQL keeps bodies whole: SQLite's shared parts are joined back in as they go.
            chosen = [
                f"{BODY_SQL} AS request_body" if (table, n) == ("generations", "request_body") else n
                for n in names
            ]
            async with db.execute(f"SELECT {', '.join(chosen)} FROM {table} ORDER BY {order}") as cursor:
                rows = [
                    tuple(_convert(value, kind) for value, (_, kind) in zip(row, columns))
                    async for row in cursor
                ]
            if rows:
                await conn.copy_records_to_table(table, records=rows, columns=names)
            copied.counts[table] = len(rows)
        for table in _IDENTITY:  # new rows continue after the copied ids
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"
            )
        await conn.execute(
            "INSERT INTO balances (key_id, credits, spent)"
            " SELECT k.id, (SELECT COALESCE(SUM(amount_pico), 0) FROM credits WHERE key_id = k.id),"
            " (SELECT COALESCE(SUM(amount_pico), 0) FROM ledger WHERE key_id = k.id) FROM keys k"
        )
        await _verify(db, conn, copied)
        await pg.notify(conn)
    return copied


async def _verify(db: Any, conn: Any, copied: Copied) -> None:
    """Counts and balances equal on both sides, or the transaction is rolled back."""
    for table, _ in TABLES:
        there = int(await conn.fetchval(f"SELECT COUNT(*) FROM {table}"))
        async with db.execute(f"SELECT COUNT(*) FROM {table}") as cursor:
            row = await cursor.fetchone()
        here = int(row[0]) if row else 0
        if there != here:
            raise StoreError(
                f"the copy of {table} has {there} rows, the source {here}; nothing was committed"
            )
    source, target = await _totals_sqlite(db), await _totals_postgres(conn)
    if source != target:
        wrong = sorted(k for k in source.keys() | target.keys() if source.get(k) != target.get(k))
        raise StoreError(
            f"balances differ after the copy (keys {', '.join(wrong[:5])}); nothing was committed"
        )
    copied.keys = len(source)
    copied.credits = sum(c for c, _ in source.values())
    copied.spent = sum(s for _, s in source.values())

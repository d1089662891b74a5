"""The SQLite connection: one file in WAL mode, created 0600, migrated forward on open; and the one
way to run several statements as a transaction."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import aiosqlite

from olga_cli.errors import StoreError
from olga_cli.files import touch_private
from olga_cli.store.sqlite.migrations import MIGRATIONS


@asynccontextmanager
async def transaction(db: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception (cancellation included).

    IMMEDIATE takes the write lock at once, so a transaction that reads and then writes cannot fail
    half-way because another process wrote in between; the busy timeout makes the wait for it bounded.
    """
    await db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    await db.execute("COMMIT")


@contextmanager
def transaction_on_thread(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``transaction`` for code already running on aiosqlite's thread (the recorder's batches)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


async def connect(path: Path) -> aiosqlite.Connection:
    """Open (creating if needed) and migrate the file; the caller owns and closes the connection."""
    touch_private(path)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.chmod(0o600)
    db = await aiosqlite.connect(path, isolation_level=None)
    try:
        db.row_factory = aiosqlite.Row
        # WAL lets the CLI read while the server writes; NORMAL keeps every commit safe from a killed
        # process (only an OS crash can lose the last commits) without an fsync per batch.
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA busy_timeout=10000")
        await db.execute("PRAGMA foreign_keys=ON")
        await migrate(db)
    except BaseException:
        await db.close()
        raise
    return db


async def migrate(db: aiosqlite.Connection) -> list[str]:
    await db.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    done = set(await applied_migrations(db))
    known = {name for name, _ in MIGRATIONS}
    unknown = done - known
    if unknown:
        raise StoreError(
            f"the store was written by a newer olga (migrations {', '.join(sorted(unknown))}); upgrade olga"
        )
    applied = []
    for name, migration in MIGRATIONS:
        if name in done:
            continue
        async with transaction(db):
            # Another process may have migrated between our read and our lock.
            async with db.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)) as cursor:
                if await cursor.fetchone() is not None:
                    continue
            await migration(db)
            await db.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, time.time()))
        applied.append(name)
    return applied


async def applied_migrations(db: aiosqlite.Connection) -> list[str]:
    async with db.execute("SELECT name FROM migrations ORDER BY name") as cursor:
        return [row[0] async for row in cursor]


async def data_version(db: aiosqlite.Connection) -> int:
    """SQLite's count of commits made by other connections to the file since this one opened."""
    async with db.execute("PRAGMA data_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else -1

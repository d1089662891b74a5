"""Opening the store: one SQLite file in WAL mode, created 0600, migrated forward on open."""

from __future__ import annotations

import time
from pathlib import Path

import aiosqlite

from olga_cli.files import touch_private
from olga_cli.store.migrations import MIGRATIONS


class StoreError(RuntimeError):
    """The store cannot be opened or is newer than this olga."""


async def open_store(path: Path) -> aiosqlite.Connection:
    """Open (creating if needed) and migrate the store; the caller owns and closes the connection."""
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
    async with db.execute("SELECT name FROM migrations") as cursor:
        done = {row[0] async for row in cursor}
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
        await db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated between our read and our lock.
            async with db.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)) as cursor:
                if await cursor.fetchone() is not None:
                    await db.execute("COMMIT")
                    continue
            await migration(db)
            await db.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, time.time()))
            await db.execute("COMMIT")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


async def schema_version(db: aiosqlite.Connection) -> list[str]:
    async with db.execute("SELECT name FROM migrations ORDER BY name") as cursor:
        return [row[0] async for row in cursor]

"""Migration 008: record flags."""

from __future__ import annotations

import aiosqlite


async def m008_record_flags(db: aiosqlite.Connection) -> None:
    """What olga changed to keep a record sound (a capped charge, a value stored sanitised), JSON list."""
    await db.execute("ALTER TABLE generations ADD COLUMN flags TEXT NOT NULL DEFAULT '[]'")

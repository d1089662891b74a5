"""Migration 014: what instances share about providers. On SQLite, where one instance is alone, only
how many 429s in a row a provider key has had, beside its health mark (kept across a restart); the
circuits of PostgreSQL's 014 need no table here."""

from __future__ import annotations

import aiosqlite


async def m014_shared_upstream(db: aiosqlite.Connection) -> None:
    """``strikes``: the 429s in a row that set the key's rest (its backoff doubles with each), kept
    with the mark so that the next instance to see a 429 counts on from them; 0 once it answered."""
    await db.execute("ALTER TABLE provider_health ADD COLUMN strikes INTEGER NOT NULL DEFAULT 0")

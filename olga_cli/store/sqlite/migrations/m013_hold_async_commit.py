"""Migration 013: nothing in SQLite; PostgreSQL's 013 lets team mode's holds commit unflushed."""

from __future__ import annotations

import aiosqlite


async def m013_hold_async_commit(db: aiosqlite.Connection) -> None:
    """The number is taken in both stores so that their migrations stay numbered alike (one process on
    SQLite keeps its reservations in memory)."""

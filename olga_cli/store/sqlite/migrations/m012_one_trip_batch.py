"""Migration 012: nothing in SQLite; PostgreSQL's 012 writes a batch of records in one round trip."""

from __future__ import annotations

import aiosqlite


async def m012_one_trip_batch(db: aiosqlite.Connection) -> None:
    """The number is taken in both stores so that their migrations stay numbered alike (SQLite's
    batch is written in-process, where a statement costs no round trip)."""

"""Migration 019: nothing in SQLite; PostgreSQL's 019 lets team mode admit against slices of credit."""

from __future__ import annotations

import aiosqlite


async def m019_credit_slices(db: aiosqlite.Connection) -> None:
    """The number is taken in both stores so that their migrations stay numbered alike (one process on
    SQLite keeps its reservations in memory)."""

"""Migration 010: nothing in SQLite; PostgreSQL's 010 is team mode's rate limits counted in Redis."""

from __future__ import annotations

import aiosqlite


async def m010_shared_rates(db: aiosqlite.Connection) -> None:
    """The number is taken in both stores so that their migrations stay numbered alike."""

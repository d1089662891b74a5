"""Migration 017: nothing in SQLite; PostgreSQL's 017 makes its hourly roll-ups saturate. SQLite's
triggers already never fail on such a sum (past 64 bits it becomes a float)."""

from __future__ import annotations

import aiosqlite


async def m017_saturating_rollups(db: aiosqlite.Connection) -> None:
    """The number is taken in both stores so that their migrations stay numbered alike."""

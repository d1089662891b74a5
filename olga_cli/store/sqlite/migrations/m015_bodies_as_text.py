"""Migration 015: nothing in SQLite; PostgreSQL's 015 sends a batch's bodies as text, not JSON."""

from __future__ import annotations

import aiosqlite


async def m015_bodies_as_text(db: aiosqlite.Connection) -> None:
    """The number is taken in both stores so that their migrations stay numbered alike."""

"""Migration 006: clients."""

from __future__ import annotations

import aiosqlite

from olga_cli.store.sqlite.migrations.ddl import run_script


async def m006_clients(db: aiosqlite.Connection) -> None:
    """Which agent session a request belongs to, and what a translation dropped from it."""
    await run_script(
        db,
        """
        ALTER TABLE generations ADD COLUMN session_id TEXT;
        ALTER TABLE generations ADD COLUMN dropped TEXT NOT NULL DEFAULT '[]';  -- a JSON list of fields
        CREATE INDEX generations_session ON generations (session_id, created_at) WHERE session_id IS NOT NULL;
        """,
    )

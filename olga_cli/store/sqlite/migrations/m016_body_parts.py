"""Migration 016: the runs of text an agent resends on every turn, stored once (``store/body_parts.py``)."""

from __future__ import annotations

import aiosqlite

from olga_cli.store.sqlite.migrations.ddl import run_script


async def m016_body_parts(db: aiosqlite.Connection) -> None:
    """A record whose request body shares a part keeps the rest in ``request_body`` and the part's hash
    and position; the partial index finds the records of a part when old bodies are pruned."""
    await run_script(
        db,
        """
        CREATE TABLE body_parts (
            hash TEXT PRIMARY KEY,
            text TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        ALTER TABLE generations ADD COLUMN request_part TEXT;
        ALTER TABLE generations ADD COLUMN request_part_at INTEGER;
        CREATE INDEX generations_request_part ON generations (request_part) WHERE request_part IS NOT NULL;
        """,
    )

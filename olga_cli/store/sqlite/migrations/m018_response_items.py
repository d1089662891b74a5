"""Migration 018: the Responses items olga made for answers it translated, kept with the records.

A later request may name such an item by id (``item_reference``); in memory it is found only by the
process that made it, so the item is also committed with its record, for every instance to find.
"""

from __future__ import annotations

import aiosqlite

from olga_cli.store.sqlite.migrations.ddl import run_script


async def m018_response_items(db: aiosqlite.Connection) -> None:
    """One row per item: its id, the item as JSON text, and when it was made (pruned with the records)."""
    await run_script(
        db,
        """
        CREATE TABLE response_items (
            id TEXT PRIMARY KEY,
            item TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX response_items_created ON response_items (created_at);
        """,
    )

"""Migration 018: the Responses items olga made for answers it translated, kept with the records, so
that an ``item_reference`` to one resolves on every instance (SQLite's 018 has the same table)."""

from __future__ import annotations

SQL = """
        CREATE TABLE response_items (
            id TEXT PRIMARY KEY,
            item TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL
        );
        CREATE INDEX response_items_created ON response_items (created_at);
        """

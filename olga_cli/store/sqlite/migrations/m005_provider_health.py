"""Migration 005: provider health."""

from __future__ import annotations

import aiosqlite

from olga_cli.store.sqlite.migrations.ddl import run_script


async def m005_provider_health(db: aiosqlite.Connection) -> None:
    """Provider API key health as the server saw it (rate-limited, rejected), for `olga providers list`."""
    await run_script(
        db,
        """
        CREATE TABLE provider_health (
            provider TEXT NOT NULL,
            key_label TEXT NOT NULL,       -- '*' marks a reset by `olga providers resume`
            fingerprint TEXT NOT NULL,     -- a short hash telling keys apart, never the key
            state TEXT NOT NULL,           -- rate_limited | invalid | reset
            status INTEGER,
            reason TEXT,
            until REAL,                    -- rate_limited: when the key may be used again (unix seconds)
            updated_at REAL NOT NULL,
            PRIMARY KEY (provider, key_label)
        )
        """,
    )

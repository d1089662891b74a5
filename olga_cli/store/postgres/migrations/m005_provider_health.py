"""Migration 005: provider health, in PostgreSQL's types; the text is as it shipped."""

from __future__ import annotations

SQL = """
        CREATE TABLE provider_health (
            provider TEXT NOT NULL,
            key_label TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            state TEXT NOT NULL,
            status INTEGER,
            reason TEXT,
            until DOUBLE PRECISION,
            updated_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (provider, key_label)
        )
        """

"""Migration 006: clients, in PostgreSQL's types; the text is as it shipped."""

from __future__ import annotations

SQL = """
        ALTER TABLE generations ADD COLUMN session_id TEXT;
        ALTER TABLE generations ADD COLUMN dropped TEXT NOT NULL DEFAULT '[]';
        CREATE INDEX generations_session ON generations (session_id, created_at) WHERE session_id IS NOT NULL
        """

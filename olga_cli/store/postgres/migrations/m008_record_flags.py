"""Migration 008: record flags, in PostgreSQL's types; the text is as it shipped."""

from __future__ import annotations

SQL = """
        ALTER TABLE generations ADD COLUMN flags TEXT NOT NULL DEFAULT '[]';
        """

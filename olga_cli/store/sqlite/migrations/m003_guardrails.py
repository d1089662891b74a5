"""Migration 003: guardrails."""

from __future__ import annotations

import aiosqlite

from olga_cli.store.sqlite.migrations.ddl import run_script


async def m003_guardrails(db: aiosqlite.Connection) -> None:
    """Guardrails per key, team or everyone, and the violations they recorded (metadata, never text)."""
    await run_script(
        db,
        """
        CREATE TABLE guardrails (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            scope TEXT NOT NULL CHECK (scope IN ('key', 'team', 'global')),
            scope_id TEXT,                 -- the key or team id, NULL for a global guardrail
            type TEXT NOT NULL CHECK (type IN ('pii', 'secrets', 'prompt-injection')),
            stage TEXT NOT NULL CHECK (stage IN ('input', 'output', 'both')),
            action TEXT NOT NULL CHECK (action IN ('block', 'redact', 'log')),
            entities TEXT NOT NULL DEFAULT '[]',   -- JSON list, empty for every entity of the type
            threshold REAL NOT NULL CHECK (threshold >= 0 AND threshold <= 1),
            created_at REAL NOT NULL,
            deleted_at REAL
        );
        CREATE INDEX guardrails_scope ON guardrails(scope, scope_id);

        CREATE TABLE guardrail_violations (
            id INTEGER PRIMARY KEY,
            generation_id TEXT NOT NULL,
            key_id TEXT NOT NULL,
            guardrail_id TEXT NOT NULL,
            guardrail_name TEXT NOT NULL,
            type TEXT NOT NULL,
            stage TEXT NOT NULL,
            entity TEXT NOT NULL,
            action TEXT NOT NULL,
            field TEXT NOT NULL,           -- where in the body, e.g. messages[1].content
            start_offset INTEGER NOT NULL, -- character offsets into that text, before any redaction
            end_offset INTEGER NOT NULL,
            confidence REAL NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX guardrail_violations_key ON guardrail_violations(key_id, id);
        CREATE INDEX guardrail_violations_generation ON guardrail_violations(generation_id)
        """,
    )

"""Migration 001: initial."""

from __future__ import annotations

import aiosqlite

from olga_cli.store.sqlite.migrations.ddl import run_script


async def m001_initial(db: aiosqlite.Connection) -> None:
    await run_script(
        db,
        """
        CREATE TABLE teams (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            models TEXT,
            rate_multiplier TEXT NOT NULL DEFAULT '1',
            created_at REAL NOT NULL,
            deleted_at REAL
        );
        CREATE UNIQUE INDEX teams_name ON teams(name) WHERE deleted_at IS NULL;

        CREATE TABLE keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            user_id TEXT,
            team_id TEXT REFERENCES teams(id),
            credits_enabled INTEGER NOT NULL DEFAULT 0,
            rpm INTEGER,
            tpm INTEGER,
            models TEXT,
            rate_multiplier TEXT NOT NULL DEFAULT '1',
            expires_at REAL,
            zdr INTEGER NOT NULL DEFAULT 0,
            disabled INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            deleted_at REAL
        );
        CREATE UNIQUE INDEX keys_name ON keys(name) WHERE deleted_at IS NULL;

        -- Top-ups: the credits granted to a key. Balance = SUM(credits) - SUM(ledger).
        CREATE TABLE credits (
            id INTEGER PRIMARY KEY,
            key_id TEXT NOT NULL REFERENCES keys(id),
            amount_pico INTEGER NOT NULL,
            note TEXT,
            created_at REAL NOT NULL
        );
        CREATE INDEX credits_key ON credits(key_id);

        -- Charges: one row per charged request, written with its generation record.
        CREATE TABLE ledger (
            id INTEGER PRIMARY KEY,
            key_id TEXT NOT NULL,
            generation_id TEXT NOT NULL,
            amount_pico INTEGER NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX ledger_key ON ledger(key_id);

        CREATE TABLE generations (
            id TEXT PRIMARY KEY,
            created_at REAL NOT NULL,
            key_id TEXT NOT NULL,
            key_name TEXT NOT NULL,
            team_id TEXT,
            app TEXT,
            endpoint TEXT NOT NULL,
            model_requested TEXT NOT NULL,
            model TEXT,
            provider TEXT,
            upstream_id TEXT,
            streamed INTEGER NOT NULL,
            status INTEGER NOT NULL,
            error TEXT,
            finish_reason TEXT,
            tokens_prompt INTEGER NOT NULL,
            tokens_completion INTEGER NOT NULL,
            tokens_cached INTEGER NOT NULL,
            tokens_cache_write INTEGER NOT NULL,
            usage_estimated INTEGER NOT NULL,
            cost_pico INTEGER NOT NULL,
            latency_ms REAL NOT NULL,
            ttft_ms REAL,
            overhead_ms REAL NOT NULL,
            request_id TEXT,
            attempts TEXT NOT NULL,
            guardrails TEXT NOT NULL,
            request_body TEXT,
            response_body TEXT
        );
        CREATE INDEX generations_created ON generations(created_at);
        CREATE INDEX generations_upstream ON generations(upstream_id);
        CREATE INDEX generations_key_created ON generations(key_id, created_at);
        """,
    )

"""Migration 004: reporting."""

from __future__ import annotations

import aiosqlite

from olga_cli.store.sqlite.migrations.ddl import run_script


async def m004_reporting(db: aiosqlite.Connection) -> None:
    """Indexes for `olga logs` filters, and hourly usage totals kept by a trigger for `olga usage`.

    Every filter of `olga logs` gets an index ending in ``created_at``, so "the newest N matching" is
    a walk down one index. ``usage_hourly`` is filled by a trigger in the same transaction as each
    record, so usage over 30 days reads a few thousand rows instead of a million, stays exact, and
    survives `olga logs prune` (like the ledger, it is never pruned).
    """
    await run_script(
        db,
        """
        CREATE INDEX generations_model_created ON generations(model, created_at);
        CREATE INDEX generations_requested_created ON generations(model_requested, created_at);
        CREATE INDEX generations_status_created ON generations(status, created_at);
        CREATE TABLE usage_hourly (
            hour INTEGER NOT NULL,
            key_id TEXT NOT NULL,
            team_id TEXT NOT NULL,
            model TEXT NOT NULL,
            provider TEXT NOT NULL,
            app TEXT NOT NULL,
            requests INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            tokens_prompt INTEGER NOT NULL,
            tokens_completion INTEGER NOT NULL,
            tokens_cached INTEGER NOT NULL,
            cost_pico INTEGER NOT NULL,
            latency_ms REAL NOT NULL,
            PRIMARY KEY (hour, key_id, team_id, model, provider, app)
        ) WITHOUT ROWID
        """,
    )
    # Grouping columns are '' rather than NULL: NULLs never conflict, so they would defeat the upsert.
    # (A trigger body holds semicolons, so it cannot go through run_script.)
    await db.execute(
        """
        CREATE TRIGGER generations_usage_hourly AFTER INSERT ON generations BEGIN
            INSERT INTO usage_hourly (hour, key_id, team_id, model, provider, app, requests, errors,
                                      tokens_prompt, tokens_completion, tokens_cached, cost_pico, latency_ms)
            VALUES (CAST(NEW.created_at / 3600 AS INTEGER) * 3600, NEW.key_id, COALESCE(NEW.team_id, ''),
                    COALESCE(NEW.model, NEW.model_requested, ''), COALESCE(NEW.provider, ''),
                    COALESCE(NEW.app, ''), 1, NEW.status >= 400, NEW.tokens_prompt, NEW.tokens_completion,
                    NEW.tokens_cached, NEW.cost_pico, NEW.latency_ms)
            ON CONFLICT (hour, key_id, team_id, model, provider, app) DO UPDATE SET
                requests = requests + 1,
                errors = errors + excluded.errors,
                tokens_prompt = tokens_prompt + excluded.tokens_prompt,
                tokens_completion = tokens_completion + excluded.tokens_completion,
                tokens_cached = tokens_cached + excluded.tokens_cached,
                cost_pico = cost_pico + excluded.cost_pico,
                latency_ms = latency_ms + excluded.latency_ms;
        END
        """
    )
    await db.execute(
        """
        INSERT INTO usage_hourly (hour, key_id, team_id, model, provider, app, requests, errors,
                                  tokens_prompt, tokens_completion, tokens_cached, cost_pico, latency_ms)
        SELECT CAST(created_at / 3600 AS INTEGER) * 3600, key_id, COALESCE(team_id, ''),
               COALESCE(model, model_requested, ''), COALESCE(provider, ''), COALESCE(app, ''),
               COUNT(*), SUM(status >= 400), SUM(tokens_prompt), SUM(tokens_completion), SUM(tokens_cached),
               SUM(cost_pico), SUM(latency_ms)
        FROM generations GROUP BY 1, 2, 3, 4, 5, 6
        """
    )

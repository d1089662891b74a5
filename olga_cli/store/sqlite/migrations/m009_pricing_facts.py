"""Migration 009: pricing facts."""

from __future__ import annotations

import aiosqlite

from olga_cli.store.sqlite.migrations.ddl import run_script


async def m009_pricing_facts(db: aiosqlite.Connection) -> None:
    """What explains a cost later: reasoning tokens, the catalog version it was priced with, and what
    prompt caching saved (also summed by the hour, for `olga usage`)."""
    await run_script(
        db,
        """
        ALTER TABLE generations ADD COLUMN tokens_reasoning INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE generations ADD COLUMN cache_saved_pico INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE generations ADD COLUMN catalog_version TEXT;
        ALTER TABLE usage_hourly ADD COLUMN cache_saved_pico INTEGER NOT NULL DEFAULT 0;
        DROP TRIGGER generations_usage_hourly
        """,
    )
    await db.execute(
        """
        CREATE TRIGGER generations_usage_hourly AFTER INSERT ON generations BEGIN
            INSERT INTO usage_hourly (hour, key_id, team_id, model, provider, app, requests, errors,
                                      tokens_prompt, tokens_completion, tokens_cached, cost_pico, latency_ms,
                                      cache_saved_pico)
            VALUES (CAST(NEW.created_at / 3600 AS INTEGER) * 3600, NEW.key_id, COALESCE(NEW.team_id, ''),
                    COALESCE(NEW.model, NEW.model_requested, ''), COALESCE(NEW.provider, ''),
                    COALESCE(NEW.app, ''), 1, NEW.status >= 400, NEW.tokens_prompt, NEW.tokens_completion,
                    NEW.tokens_cached, NEW.cost_pico, NEW.latency_ms, NEW.cache_saved_pico)
            ON CONFLICT (hour, key_id, team_id, model, provider, app) DO UPDATE SET
                requests = requests + 1,
                errors = errors + excluded.errors,
                tokens_prompt = tokens_prompt + excluded.tokens_prompt,
                tokens_completion = tokens_completion + excluded.tokens_completion,
                tokens_cached = tokens_cached + excluded.tokens_cached,
                cost_pico = cost_pico + excluded.cost_pico,
                latency_ms = latency_ms + excluded.latency_ms,
                cache_saved_pico = cache_saved_pico + excluded.cache_saved_pico;
        END
        """
    )

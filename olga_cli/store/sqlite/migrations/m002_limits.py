"""Migration 002: limits."""

from __future__ import annotations

import aiosqlite

from olga_cli.store.sqlite.migrations.ddl import run_script


async def m002_limits(db: aiosqlite.Connection) -> None:
    """Usage limits, the alerts they raised, and the usage they are measured against.

    Each request admitted past the limits leaves a row in ``admissions`` (its key, team, time, cost
    and tokens), written in the same batch as its record; a trigger adds it to ``usage_daily``, the
    per key and team per UTC day totals the gateway rebuilds its counters from. ``admissions`` itself
    is only kept for the last minutes (the sliding minute of --rpm/--tpm); ``usage_daily`` forever.
    """
    await run_script(
        db,
        """
        CREATE TABLE limits (
            id INTEGER PRIMARY KEY,
            scope TEXT NOT NULL CHECK (scope IN ('key', 'team')),
            scope_id TEXT NOT NULL,
            metric TEXT NOT NULL CHECK (metric IN ('cost', 'requests', 'tokens')),
            time_window TEXT NOT NULL CHECK (time_window IN ('daily', 'weekly', 'monthly', 'all-time')),
            -- picodollars for cost, a number of requests or tokens otherwise
            threshold INTEGER NOT NULL CHECK (threshold > 0),
            -- JSON list of percentages of the threshold that raise an alert
            alerts TEXT NOT NULL DEFAULT '[]',
            created_at REAL NOT NULL,
            deleted_at REAL
        );
        CREATE INDEX limits_scope ON limits(scope, scope_id);

        -- One row per threshold crossed per window: UNIQUE makes raising an alert idempotent.
        CREATE TABLE limit_alerts (
            id INTEGER PRIMARY KEY,
            limit_id INTEGER NOT NULL,
            scope TEXT NOT NULL,
            scope_id TEXT NOT NULL,
            metric TEXT NOT NULL,
            time_window TEXT NOT NULL,
            period_day INTEGER NOT NULL,
            percent INTEGER NOT NULL,
            threshold INTEGER NOT NULL,
            usage INTEGER NOT NULL,
            generation_id TEXT,
            created_at REAL NOT NULL,
            UNIQUE (limit_id, period_day, percent)
        );
        CREATE INDEX limit_alerts_scope ON limit_alerts(scope, scope_id, id);

        CREATE TABLE admissions (
            id INTEGER PRIMARY KEY,
            generation_id TEXT NOT NULL,
            key_id TEXT NOT NULL,
            team_id TEXT,
            at REAL NOT NULL,
            cost_pico INTEGER NOT NULL,
            tokens INTEGER NOT NULL
        );
        CREATE INDEX admissions_at ON admissions(at);

        CREATE TABLE usage_daily (
            scope TEXT NOT NULL,
            scope_id TEXT NOT NULL,
            day INTEGER NOT NULL,
            cost_pico INTEGER NOT NULL,
            requests INTEGER NOT NULL,
            tokens INTEGER NOT NULL,
            PRIMARY KEY (scope, scope_id, day)
        ) WITHOUT ROWID
        """,
    )
    # Days are CAST(at / 86400 AS INTEGER), the same expression as gateway.windows.day_of.
    # (A trigger body holds semicolons, so it cannot go through run_script.)
    await db.execute(
        """
        CREATE TRIGGER admissions_usage_daily AFTER INSERT ON admissions BEGIN
            INSERT INTO usage_daily (scope, scope_id, day, cost_pico, requests, tokens)
            VALUES ('key', NEW.key_id, CAST(NEW.at / 86400 AS INTEGER), NEW.cost_pico, 1, NEW.tokens)
            ON CONFLICT (scope, scope_id, day) DO UPDATE SET
                cost_pico = cost_pico + excluded.cost_pico,
                requests = requests + 1,
                tokens = tokens + excluded.tokens;
            INSERT INTO usage_daily (scope, scope_id, day, cost_pico, requests, tokens)
            SELECT 'team', NEW.team_id, CAST(NEW.at / 86400 AS INTEGER), NEW.cost_pico, 1, NEW.tokens
            WHERE NEW.team_id IS NOT NULL
            ON CONFLICT (scope, scope_id, day) DO UPDATE SET
                cost_pico = cost_pico + excluded.cost_pico,
                requests = requests + 1,
                tokens = tokens + excluded.tokens;
        END
        """
    )
    # Usage before limits existed: every record that went to a provider counts as admitted.
    for scope, column in (("key", "key_id"), ("team", "team_id")):
        await db.execute(
            f"""
            INSERT INTO usage_daily (scope, scope_id, day, cost_pico, requests, tokens)
            SELECT '{scope}', {column}, CAST(created_at / 86400 AS INTEGER), SUM(cost_pico), COUNT(*),
                   SUM(tokens_prompt + tokens_completion)
            FROM generations WHERE {column} IS NOT NULL AND attempts != '[]' GROUP BY 2, 3
            """
        )

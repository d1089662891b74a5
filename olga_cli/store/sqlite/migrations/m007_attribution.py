"""Migration 007: attribution."""

from __future__ import annotations

import aiosqlite

from olga_cli.store.sqlite.migrations.ddl import run_script


async def m007_attribution(db: aiosqlite.Connection) -> None:
    """Tags and end users: on records, on admissions (so limits can count them), in limits' scopes,
    and summed by the hour for `olga usage --by tag|user`.

    Usage per tag, per end user and per end user of a key or team goes into ``usage_daily`` beside
    the key's and team's, by the same trigger; ``usage_labels_hourly`` is to tags and users what
    ``usage_hourly`` is to keys and models (a request with two tags counts under both).
    """
    await run_script(
        db,
        """
        ALTER TABLE generations ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';  -- a JSON list
        ALTER TABLE generations ADD COLUMN end_user TEXT;
        CREATE INDEX generations_end_user ON generations (end_user, created_at) WHERE end_user IS NOT NULL;
        ALTER TABLE admissions ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE admissions ADD COLUMN end_user TEXT;

        CREATE TABLE limits_new (
            id INTEGER PRIMARY KEY,
            scope TEXT NOT NULL
                CHECK (scope IN ('key', 'team', 'tag', 'user', 'key_each_user', 'team_each_user')),
            scope_id TEXT NOT NULL,
            metric TEXT NOT NULL CHECK (metric IN ('cost', 'requests', 'tokens')),
            time_window TEXT NOT NULL CHECK (time_window IN ('daily', 'weekly', 'monthly', 'all-time')),
            threshold INTEGER NOT NULL CHECK (threshold > 0),
            alerts TEXT NOT NULL DEFAULT '[]',
            created_at REAL NOT NULL,
            deleted_at REAL
        );
        INSERT INTO limits_new SELECT * FROM limits;
        DROP TABLE limits;
        ALTER TABLE limits_new RENAME TO limits;
        CREATE INDEX limits_scope ON limits(scope, scope_id);

        CREATE TABLE usage_labels_hourly (
            hour INTEGER NOT NULL,
            kind TEXT NOT NULL,            -- tag | user
            label TEXT NOT NULL,
            requests INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            tokens_prompt INTEGER NOT NULL,
            tokens_completion INTEGER NOT NULL,
            tokens_cached INTEGER NOT NULL,
            cost_pico INTEGER NOT NULL,
            latency_ms REAL NOT NULL,
            PRIMARY KEY (hour, kind, label)
        ) WITHOUT ROWID;
        DROP TRIGGER admissions_usage_daily
        """,
    )
    # (Trigger bodies hold semicolons, so they cannot go through run_script.)
    usage_daily = """
            ON CONFLICT (scope, scope_id, day) DO UPDATE SET
                cost_pico = cost_pico + excluded.cost_pico,
                requests = requests + 1,
                tokens = tokens + excluded.tokens;"""
    day = "CAST(NEW.at / 86400 AS INTEGER), NEW.cost_pico, 1, NEW.tokens"
    await db.execute(
        f"""
        CREATE TRIGGER admissions_usage_daily AFTER INSERT ON admissions BEGIN
            INSERT INTO usage_daily (scope, scope_id, day, cost_pico, requests, tokens)
            VALUES ('key', NEW.key_id, {day}) {usage_daily}
            INSERT INTO usage_daily (scope, scope_id, day, cost_pico, requests, tokens)
            SELECT 'team', NEW.team_id, {day} WHERE NEW.team_id IS NOT NULL {usage_daily}
            INSERT INTO usage_daily (scope, scope_id, day, cost_pico, requests, tokens)
            SELECT DISTINCT 'tag', j.value, {day} FROM json_each(NEW.tags) j WHERE true {usage_daily}
            INSERT INTO usage_daily (scope, scope_id, day, cost_pico, requests, tokens)
            SELECT 'user', NEW.end_user, {day} WHERE NEW.end_user IS NOT NULL {usage_daily}
            INSERT INTO usage_daily (scope, scope_id, day, cost_pico, requests, tokens)
            SELECT 'key_user', NEW.key_id || char(31) || NEW.end_user, {day}
            WHERE NEW.end_user IS NOT NULL {usage_daily}
            INSERT INTO usage_daily (scope, scope_id, day, cost_pico, requests, tokens)
            SELECT 'team_user', NEW.team_id || char(31) || NEW.end_user, {day}
            WHERE NEW.end_user IS NOT NULL AND NEW.team_id IS NOT NULL {usage_daily}
        END
        """
    )
    labels = """
            ON CONFLICT (hour, kind, label) DO UPDATE SET
                requests = requests + 1,
                errors = errors + excluded.errors,
                tokens_prompt = tokens_prompt + excluded.tokens_prompt,
                tokens_completion = tokens_completion + excluded.tokens_completion,
                tokens_cached = tokens_cached + excluded.tokens_cached,
                cost_pico = cost_pico + excluded.cost_pico,
                latency_ms = latency_ms + excluded.latency_ms;"""
    sums = (
        "1, NEW.status >= 400, NEW.tokens_prompt, NEW.tokens_completion, NEW.tokens_cached, "
        "NEW.cost_pico, NEW.latency_ms"
    )
    columns = (
        "hour, kind, label, requests, errors, tokens_prompt, tokens_completion, tokens_cached, "
        "cost_pico, latency_ms"
    )
    await db.execute(
        f"""
        CREATE TRIGGER generations_usage_labels AFTER INSERT ON generations BEGIN
            INSERT INTO usage_labels_hourly ({columns})
            SELECT DISTINCT CAST(NEW.created_at / 3600 AS INTEGER) * 3600, 'tag', j.value, {sums}
            FROM json_each(NEW.tags) j WHERE true {labels}
            INSERT INTO usage_labels_hourly ({columns})
            SELECT CAST(NEW.created_at / 3600 AS INTEGER) * 3600, 'user', NEW.end_user, {sums}
            WHERE NEW.end_user IS NOT NULL {labels}
        END
        """
    )

"""Schema migrations: ordered, named, each applied once and recorded in ``migrations``.

Functions are defined in the order they apply, and ``MIGRATIONS`` lists them in that order. Add one by
appending a function numbered after the newest (the PostgreSQL schema uses the same numbers); never
edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiosqlite

Migration = Callable[[aiosqlite.Connection], Awaitable[None]]


async def run_script(db: aiosqlite.Connection, script: str) -> None:
    """Run DDL statement by statement: ``executescript`` would commit the migration's transaction."""
    for statement in script.split(";"):
        lines = [line for line in statement.splitlines() if not line.strip().startswith("--")]
        if "".join(lines).strip():
            await db.execute("\n".join(lines))


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


async def m006_clients(db: aiosqlite.Connection) -> None:
    """Which agent session a request belongs to, and what a translation dropped from it."""
    await run_script(
        db,
        """
        ALTER TABLE generations ADD COLUMN session_id TEXT;
        ALTER TABLE generations ADD COLUMN dropped TEXT NOT NULL DEFAULT '[]';  -- a JSON list of fields
        CREATE INDEX generations_session ON generations (session_id, created_at) WHERE session_id IS NOT NULL;
        """,
    )


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


async def m008_record_flags(db: aiosqlite.Connection) -> None:
    """What olga changed to keep a record sound (a capped charge, a value stored sanitised), JSON list."""
    await db.execute("ALTER TABLE generations ADD COLUMN flags TEXT NOT NULL DEFAULT '[]'")


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


MIGRATIONS: list[tuple[str, Migration]] = [
    ("001_initial", m001_initial),
    ("002_limits", m002_limits),
    ("003_guardrails", m003_guardrails),
    ("004_reporting", m004_reporting),
    ("005_provider_health", m005_provider_health),
    ("006_clients", m006_clients),
    ("007_attribution", m007_attribution),
    ("008_record_flags", m008_record_flags),
    ("009_pricing_facts", m009_pricing_facts),
]

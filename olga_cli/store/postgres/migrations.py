"""The PostgreSQL schema, in migrations numbered and named as SQLite's (``store/sqlite/migrations.py``).

Each is the same tables as its SQLite namesake in PostgreSQL's types (BIGINT for money and counts,
DOUBLE PRECISION for times), so both stores hold the same rows and ``olga store migrate`` copies one
into the other column for column. Two things SQLite does with triggers are done by the backend's
batch writer instead (usage_hourly, usage_daily), and the shared state of team mode (``balances``,
``holds``) lives beside the tables it guards. A new migration goes into both lists under one number.
"""

from __future__ import annotations

# Admission in one round trip and one atomic step: under the key's (then the team's) advisory lock,
# the rate limits, the usage limits and the balance are checked against every instance's holds and
# settled usage, and the hold is taken. NULL when admitted, else why not ('credits:BALANCE',
# 'limit:ID', 'rpm', 'tpm'). Same rules as the in-memory admission: a limit refuses once what is used
# and held reaches it, so concurrent requests overshoot it by at most one hold.
TAKE_HOLD = """
CREATE FUNCTION olga_take_hold(
    p_id TEXT, p_instance TEXT, p_key TEXT, p_team TEXT, p_at DOUBLE PRECISION,
    p_capped BOOLEAN, p_credits BIGINT, p_cost BIGINT, p_tokens BIGINT, p_rate_tokens BIGINT,
    p_rpm BIGINT, p_tpm BIGINT,
    p_limit_ids BIGINT[], p_scopes TEXT[], p_scope_ids TEXT[], p_metrics TEXT[],
    p_first_days BIGINT[], p_thresholds BIGINT[]
) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    balance BIGINT;
    minute_requests BIGINT;
    minute_tokens BIGINT;
    used BIGINT;
    held BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('olga-key:' || current_schema() || p_key));
    IF p_team IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('olga-team:' || current_schema() || p_team));
    END IF;
    IF p_capped THEN
        SELECT credits - spent - reserved INTO balance FROM balances WHERE key_id = p_key;
        IF COALESCE(balance, 0) < p_credits THEN
            RETURN 'credits:' || COALESCE(balance, 0);
        END IF;
    END IF;
    IF p_rpm IS NOT NULL OR p_tpm IS NOT NULL THEN
        SELECT COUNT(*), COALESCE(SUM(n), 0) INTO minute_requests, minute_tokens FROM (
            SELECT tokens AS n FROM admissions WHERE key_id = p_key AND at > p_at - 60
            UNION ALL
            SELECT rate_tokens FROM holds WHERE key_id = p_key AND at > p_at - 60
        ) AS minute;
        IF p_rpm IS NOT NULL AND minute_requests >= p_rpm THEN
            RETURN 'rpm';
        END IF;
        IF p_tpm IS NOT NULL AND minute_tokens >= p_tpm THEN
            RETURN 'tpm';
        END IF;
    END IF;
    FOR i IN 1 .. COALESCE(array_length(p_limit_ids, 1), 0) LOOP
        SELECT COALESCE(SUM(CASE p_metrics[i] WHEN 'cost' THEN cost_pico WHEN 'requests' THEN requests
                                              ELSE tokens END), 0)
          INTO used FROM usage_daily
         WHERE scope = p_scopes[i] AND scope_id = p_scope_ids[i] AND day >= p_first_days[i];
        SELECT COALESCE(SUM(CASE p_metrics[i] WHEN 'cost' THEN cost_pico WHEN 'requests' THEN 1
                                              ELSE tokens END), 0)
          INTO held FROM holds
         WHERE (p_scopes[i] = 'key' AND key_id = p_scope_ids[i])
            OR (p_scopes[i] = 'team' AND team_id = p_scope_ids[i]);
        IF used + held >= p_thresholds[i] THEN
            RETURN 'limit:' || p_limit_ids[i];
        END IF;
    END LOOP;
    IF p_capped THEN
        UPDATE balances SET reserved = reserved + p_credits WHERE key_id = p_key;
    END IF;
    INSERT INTO holds (id, instance, key_id, team_id, at, credits, cost_pico, tokens, rate_tokens)
    VALUES (p_id, p_instance, p_key, p_team, p_at, CASE WHEN p_capped THEN p_credits ELSE 0 END,
            p_cost, p_tokens, p_rate_tokens);
    RETURN NULL;
END;
$$
"""

# 007: a hold also counts for the tags and end users it names (``labels``: "tag:x", "user:u", ...).
TAKE_HOLD_LABELS = """
CREATE FUNCTION olga_take_hold(
    p_id TEXT, p_instance TEXT, p_key TEXT, p_team TEXT, p_at DOUBLE PRECISION,
    p_capped BOOLEAN, p_credits BIGINT, p_cost BIGINT, p_tokens BIGINT, p_rate_tokens BIGINT,
    p_rpm BIGINT, p_tpm BIGINT,
    p_limit_ids BIGINT[], p_scopes TEXT[], p_scope_ids TEXT[], p_metrics TEXT[],
    p_first_days BIGINT[], p_thresholds BIGINT[], p_labels TEXT[]
) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    balance BIGINT;
    minute_requests BIGINT;
    minute_tokens BIGINT;
    used BIGINT;
    held BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('olga-key:' || current_schema() || p_key));
    IF p_team IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('olga-team:' || current_schema() || p_team));
    END IF;
    -- Then each tag's and end user's lock, in one order everywhere, so two requests sharing a tag
    -- serialise here whatever their keys.
    FOR i IN 1 .. COALESCE(array_length(p_labels, 1), 0) LOOP
        PERFORM pg_advisory_xact_lock(hashtext('olga-scope:' || current_schema() || p_labels[i]));
    END LOOP;
    IF p_capped THEN
        SELECT credits - spent - reserved INTO balance FROM balances WHERE key_id = p_key;
        IF COALESCE(balance, 0) < p_credits THEN
            RETURN 'credits:' || COALESCE(balance, 0);
        END IF;
    END IF;
    IF p_rpm IS NOT NULL OR p_tpm IS NOT NULL THEN
        SELECT COUNT(*), COALESCE(SUM(n), 0) INTO minute_requests, minute_tokens FROM (
            SELECT tokens AS n FROM admissions WHERE key_id = p_key AND at > p_at - 60
            UNION ALL
            SELECT rate_tokens FROM holds WHERE key_id = p_key AND at > p_at - 60
        ) AS minute;
        IF p_rpm IS NOT NULL AND minute_requests >= p_rpm THEN
            RETURN 'rpm';
        END IF;
        IF p_tpm IS NOT NULL AND minute_tokens >= p_tpm THEN
            RETURN 'tpm';
        END IF;
    END IF;
    FOR i IN 1 .. COALESCE(array_length(p_limit_ids, 1), 0) LOOP
        -- One statement, one snapshot: a batch ending a hold and adding its usage is seen whole or not.
        SELECT (SELECT COALESCE(SUM(CASE p_metrics[i] WHEN 'cost' THEN cost_pico WHEN 'requests' THEN requests
                                                      ELSE tokens END), 0)
                  FROM usage_daily
                 WHERE scope = p_scopes[i] AND scope_id = p_scope_ids[i] AND day >= p_first_days[i]),
               (SELECT COALESCE(SUM(CASE p_metrics[i] WHEN 'cost' THEN cost_pico WHEN 'requests' THEN 1
                                                      ELSE tokens END), 0)
                  FROM holds
                 WHERE (p_scopes[i] = 'key' AND key_id = p_scope_ids[i])
                    OR (p_scopes[i] = 'team' AND team_id = p_scope_ids[i])
                    OR (p_scopes[i] || ':' || p_scope_ids[i]) = ANY(labels)) INTO used, held;
        IF used + held >= p_thresholds[i] THEN
            RETURN 'limit:' || p_limit_ids[i];
        END IF;
    END LOOP;
    IF p_capped THEN
        UPDATE balances SET reserved = reserved + p_credits WHERE key_id = p_key;
    END IF;
    INSERT INTO holds (id, instance, key_id, team_id, at, credits, cost_pico, tokens, rate_tokens, labels)
    VALUES (p_id, p_instance, p_key, p_team, p_at, CASE WHEN p_capped THEN p_credits ELSE 0 END,
            p_cost, p_tokens, p_rate_tokens, p_labels);
    RETURN NULL;
END;
$$
"""
_PRICING_FACTS = "ALTER TABLE generations ADD COLUMN tokens_reasoning BIGINT NOT NULL DEFAULT 0, ADD COLUMN cache_saved_pico BIGINT NOT NULL DEFAULT 0, ADD COLUMN catalog_version TEXT; ALTER TABLE usage_hourly ADD COLUMN cache_saved_pico BIGINT NOT NULL DEFAULT 0"
MIGRATIONS: list[tuple[str, str]] = [
    (
        "001_initial",
        """
        CREATE TABLE teams (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            models TEXT,
            rate_multiplier TEXT NOT NULL DEFAULT '1',
            created_at DOUBLE PRECISION NOT NULL,
            deleted_at DOUBLE PRECISION
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
            expires_at DOUBLE PRECISION,
            zdr INTEGER NOT NULL DEFAULT 0,
            disabled INTEGER NOT NULL DEFAULT 0,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            deleted_at DOUBLE PRECISION
        );
        CREATE UNIQUE INDEX keys_name ON keys(name) WHERE deleted_at IS NULL;

        CREATE TABLE credits (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            key_id TEXT NOT NULL REFERENCES keys(id),
            amount_pico BIGINT NOT NULL,
            note TEXT,
            created_at DOUBLE PRECISION NOT NULL
        );
        CREATE INDEX credits_key ON credits(key_id);

        CREATE TABLE ledger (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            key_id TEXT NOT NULL,
            generation_id TEXT NOT NULL,
            amount_pico BIGINT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL
        );
        CREATE INDEX ledger_key ON ledger(key_id);

        -- SUM(credits) and SUM(ledger) per key, kept by the same transactions that add to them, and
        -- what requests in flight on any instance hold: a reservation checks and takes in one UPDATE.
        CREATE TABLE balances (
            key_id TEXT PRIMARY KEY,
            credits BIGINT NOT NULL DEFAULT 0,
            spent BIGINT NOT NULL DEFAULT 0,
            reserved BIGINT NOT NULL DEFAULT 0
        );

        CREATE TABLE generations (
            seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
            id TEXT PRIMARY KEY,
            created_at DOUBLE PRECISION NOT NULL,
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
            tokens_prompt BIGINT NOT NULL,
            tokens_completion BIGINT NOT NULL,
            tokens_cached BIGINT NOT NULL,
            tokens_cache_write BIGINT NOT NULL,
            usage_estimated INTEGER NOT NULL,
            cost_pico BIGINT NOT NULL,
            latency_ms DOUBLE PRECISION NOT NULL,
            ttft_ms DOUBLE PRECISION,
            overhead_ms DOUBLE PRECISION NOT NULL,
            request_id TEXT,
            attempts TEXT NOT NULL,
            guardrails TEXT NOT NULL,
            request_body TEXT,
            response_body TEXT
        );
        CREATE INDEX generations_created ON generations(created_at);
        CREATE INDEX generations_upstream ON generations(upstream_id);
        CREATE INDEX generations_key_created ON generations(key_id, created_at)
        """,
    ),
    (
        "002_limits",
        """
        CREATE TABLE limits (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            scope TEXT NOT NULL CHECK (scope IN ('key', 'team')),
            scope_id TEXT NOT NULL,
            metric TEXT NOT NULL CHECK (metric IN ('cost', 'requests', 'tokens')),
            time_window TEXT NOT NULL CHECK (time_window IN ('daily', 'weekly', 'monthly', 'all-time')),
            threshold BIGINT NOT NULL CHECK (threshold > 0),
            alerts TEXT NOT NULL DEFAULT '[]',
            created_at DOUBLE PRECISION NOT NULL,
            deleted_at DOUBLE PRECISION
        );
        CREATE INDEX limits_scope ON limits(scope, scope_id);

        CREATE TABLE limit_alerts (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            limit_id BIGINT NOT NULL,
            scope TEXT NOT NULL,
            scope_id TEXT NOT NULL,
            metric TEXT NOT NULL,
            time_window TEXT NOT NULL,
            period_day BIGINT NOT NULL,
            percent INTEGER NOT NULL,
            threshold BIGINT NOT NULL,
            usage BIGINT NOT NULL,
            generation_id TEXT,
            created_at DOUBLE PRECISION NOT NULL,
            UNIQUE (limit_id, period_day, percent)
        );
        CREATE INDEX limit_alerts_scope ON limit_alerts(scope, scope_id, id);

        CREATE TABLE admissions (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            generation_id TEXT NOT NULL,
            key_id TEXT NOT NULL,
            team_id TEXT,
            at DOUBLE PRECISION NOT NULL,
            cost_pico BIGINT NOT NULL,
            tokens BIGINT NOT NULL
        );
        CREATE INDEX admissions_at ON admissions(at);
        CREATE INDEX admissions_key_at ON admissions(key_id, at);

        CREATE TABLE usage_daily (
            scope TEXT NOT NULL,
            scope_id TEXT NOT NULL,
            day BIGINT NOT NULL,
            cost_pico BIGINT NOT NULL,
            requests BIGINT NOT NULL,
            tokens BIGINT NOT NULL,
            PRIMARY KEY (scope, scope_id, day)
        );

        -- What requests in flight hold, on any instance, until their record commits or their
        -- instance's lease runs out (team mode's shared admission).
        CREATE TABLE holds (
            id TEXT PRIMARY KEY,
            instance TEXT NOT NULL,
            key_id TEXT NOT NULL,
            team_id TEXT,
            at DOUBLE PRECISION NOT NULL,
            credits BIGINT NOT NULL,
            cost_pico BIGINT NOT NULL,
            tokens BIGINT NOT NULL,
            rate_tokens BIGINT NOT NULL
        );
        CREATE INDEX holds_key ON holds(key_id);
        CREATE INDEX holds_team ON holds(team_id);
        CREATE INDEX holds_instance ON holds(instance);
        CREATE TABLE instances (
            id TEXT PRIMARY KEY,
            seen_at DOUBLE PRECISION NOT NULL
        );
        """
        + TAKE_HOLD,
    ),
    (
        "003_guardrails",
        """
        CREATE TABLE guardrails (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            name TEXT NOT NULL,
            scope TEXT NOT NULL CHECK (scope IN ('key', 'team', 'global')),
            scope_id TEXT,
            type TEXT NOT NULL CHECK (type IN ('pii', 'secrets', 'prompt-injection')),
            stage TEXT NOT NULL CHECK (stage IN ('input', 'output', 'both')),
            action TEXT NOT NULL CHECK (action IN ('block', 'redact', 'log')),
            entities TEXT NOT NULL DEFAULT '[]',
            threshold DOUBLE PRECISION NOT NULL CHECK (threshold >= 0 AND threshold <= 1),
            created_at DOUBLE PRECISION NOT NULL,
            deleted_at DOUBLE PRECISION
        );
        CREATE INDEX guardrails_scope ON guardrails(scope, scope_id);

        CREATE TABLE guardrail_violations (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            generation_id TEXT NOT NULL,
            key_id TEXT NOT NULL,
            guardrail_id TEXT NOT NULL,
            guardrail_name TEXT NOT NULL,
            type TEXT NOT NULL,
            stage TEXT NOT NULL,
            entity TEXT NOT NULL,
            action TEXT NOT NULL,
            field TEXT NOT NULL,
            start_offset BIGINT NOT NULL,
            end_offset BIGINT NOT NULL,
            confidence DOUBLE PRECISION NOT NULL,
            created_at DOUBLE PRECISION NOT NULL
        );
        CREATE INDEX guardrail_violations_key ON guardrail_violations(key_id, id);
        CREATE INDEX guardrail_violations_generation ON guardrail_violations(generation_id)
        """,
    ),
    (
        "004_reporting",
        """
        CREATE INDEX generations_model_created ON generations(model, created_at);
        CREATE INDEX generations_requested_created ON generations(model_requested, created_at);
        CREATE INDEX generations_status_created ON generations(status, created_at);
        CREATE TABLE usage_hourly (
            hour BIGINT NOT NULL,
            key_id TEXT NOT NULL,
            team_id TEXT NOT NULL,
            model TEXT NOT NULL,
            provider TEXT NOT NULL,
            app TEXT NOT NULL,
            requests BIGINT NOT NULL,
            errors BIGINT NOT NULL,
            tokens_prompt BIGINT NOT NULL,
            tokens_completion BIGINT NOT NULL,
            tokens_cached BIGINT NOT NULL,
            cost_pico BIGINT NOT NULL,
            latency_ms DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (hour, key_id, team_id, model, provider, app)
        )
        """,
    ),
    (
        "005_provider_health",
        """
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
        """,
    ),
    (
        "006_clients",
        """
        ALTER TABLE generations ADD COLUMN session_id TEXT;
        ALTER TABLE generations ADD COLUMN dropped TEXT NOT NULL DEFAULT '[]';
        CREATE INDEX generations_session ON generations (session_id, created_at) WHERE session_id IS NOT NULL
        """,
    ),
    (
        "007_attribution",
        """
        ALTER TABLE generations ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE generations ADD COLUMN end_user TEXT;
        CREATE INDEX generations_end_user ON generations (end_user, created_at) WHERE end_user IS NOT NULL;
        ALTER TABLE admissions ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE admissions ADD COLUMN end_user TEXT;
        ALTER TABLE limits DROP CONSTRAINT limits_scope_check;
        ALTER TABLE limits ADD CONSTRAINT limits_scope_check
            CHECK (scope IN ('key', 'team', 'tag', 'user', 'key_each_user', 'team_each_user'));
        CREATE TABLE usage_labels_hourly (
            hour BIGINT NOT NULL,
            kind TEXT NOT NULL,
            label TEXT NOT NULL,
            requests BIGINT NOT NULL,
            errors BIGINT NOT NULL,
            tokens_prompt BIGINT NOT NULL,
            tokens_completion BIGINT NOT NULL,
            tokens_cached BIGINT NOT NULL,
            cost_pico BIGINT NOT NULL,
            latency_ms DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (hour, kind, label)
        );
        ALTER TABLE holds ADD COLUMN labels TEXT[] NOT NULL DEFAULT '{}';
        DROP FUNCTION olga_take_hold;
        """
        + TAKE_HOLD_LABELS,
    ),
    (
        "008_record_flags",
        """
        ALTER TABLE generations ADD COLUMN flags TEXT NOT NULL DEFAULT '[]';
        """,
    ),
    ("009_pricing_facts", _PRICING_FACTS),
]

"""Migration 004: reporting, in PostgreSQL's types; the text is as it shipped."""

from __future__ import annotations

SQL = """
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
        """

"""Migration 007: attribution, in PostgreSQL's types; the text is as it shipped."""

from __future__ import annotations

from olga_cli.store.postgres.migrations.functions import TAKE_HOLD_LABELS

SQL = (
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
    + TAKE_HOLD_LABELS
)

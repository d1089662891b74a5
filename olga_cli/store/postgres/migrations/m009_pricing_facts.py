"""Migration 009: pricing facts, in PostgreSQL's types; the text is as it shipped."""

from __future__ import annotations

SQL = (
    "ALTER TABLE generations ADD COLUMN tokens_reasoning BIGINT NOT NULL DEFAULT 0,"
    " ADD COLUMN cache_saved_pico BIGINT NOT NULL DEFAULT 0, ADD COLUMN catalog_version TEXT;"
    " ALTER TABLE usage_hourly ADD COLUMN cache_saved_pico BIGINT NOT NULL DEFAULT 0"
)

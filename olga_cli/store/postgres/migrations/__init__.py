"""The PostgreSQL schema, in migrations numbered and named as SQLite's (``store/sqlite/migrations/``).

Each is the same tables as its SQLite namesake in PostgreSQL's types (BIGINT for money and counts,
DOUBLE PRECISION for times), so both stores hold the same rows and ``olga store migrate`` copies one
into the other column for column. Two things SQLite does with triggers are done by the backend's
batch writer instead (usage_hourly, usage_daily), and the shared state of team mode (``balances``,
``holds``) lives beside the tables it guards. A new migration is a module in both packages under one number.
"""

from __future__ import annotations

from olga_cli.store.postgres.migrations import (
    m001_initial,
    m002_limits,
    m003_guardrails,
    m004_reporting,
    m005_provider_health,
    m006_clients,
    m007_attribution,
    m008_record_flags,
    m009_pricing_facts,
    m010_shared_rates,
    m011_session_usage,
    m012_one_trip_batch,
    m013_hold_async_commit,
    m014_shared_upstream,
    m015_bodies_as_text,
    m016_body_parts,
    m017_saturating_rollups,
    m018_response_items,
    m019_credit_slices,
    m020_rollups_in_batches,
)

MIGRATIONS: list[tuple[str, str]] = [
    ("001_initial", m001_initial.SQL),
    ("002_limits", m002_limits.SQL),
    ("003_guardrails", m003_guardrails.SQL),
    ("004_reporting", m004_reporting.SQL),
    ("005_provider_health", m005_provider_health.SQL),
    ("006_clients", m006_clients.SQL),
    ("007_attribution", m007_attribution.SQL),
    ("008_record_flags", m008_record_flags.SQL),
    ("009_pricing_facts", m009_pricing_facts.SQL),
    ("010_shared_rates", m010_shared_rates.SQL),
    ("011_session_usage", m011_session_usage.SQL),
    ("012_one_trip_batch", m012_one_trip_batch.SQL),
    ("013_hold_async_commit", m013_hold_async_commit.SQL),
    ("014_shared_upstream", m014_shared_upstream.SQL),
    ("015_bodies_as_text", m015_bodies_as_text.SQL),
    ("016_body_parts", m016_body_parts.SQL),
    ("017_saturating_rollups", m017_saturating_rollups.SQL),
    ("018_response_items", m018_response_items.SQL),
    ("019_credit_slices", m019_credit_slices.SQL),
    ("020_rollups_in_batches", m020_rollups_in_batches.SQL),
]

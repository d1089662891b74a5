"""Schema migrations: ordered, named, each applied once and recorded in ``migrations``.

One module per migration, named by its number; ``MIGRATIONS`` lists them in the order they apply. Add one by
adding a module ``mNNN_name.py`` numbered after the newest, with one function of the same name,
and appending it to ``MIGRATIONS`` (the PostgreSQL schema uses the same numbers); never
edit one that has shipped.
"""

from __future__ import annotations

from olga_cli.store.sqlite.migrations.ddl import Migration, run_script
from olga_cli.store.sqlite.migrations.m001_initial import m001_initial
from olga_cli.store.sqlite.migrations.m002_limits import m002_limits
from olga_cli.store.sqlite.migrations.m003_guardrails import m003_guardrails
from olga_cli.store.sqlite.migrations.m004_reporting import m004_reporting
from olga_cli.store.sqlite.migrations.m005_provider_health import m005_provider_health
from olga_cli.store.sqlite.migrations.m006_clients import m006_clients
from olga_cli.store.sqlite.migrations.m007_attribution import m007_attribution
from olga_cli.store.sqlite.migrations.m008_record_flags import m008_record_flags
from olga_cli.store.sqlite.migrations.m009_pricing_facts import m009_pricing_facts
from olga_cli.store.sqlite.migrations.m010_shared_rates import m010_shared_rates
from olga_cli.store.sqlite.migrations.m011_session_usage import m011_session_usage
from olga_cli.store.sqlite.migrations.m012_one_trip_batch import m012_one_trip_batch
from olga_cli.store.sqlite.migrations.m013_hold_async_commit import m013_hold_async_commit
from olga_cli.store.sqlite.migrations.m014_shared_upstream import m014_shared_upstream
from olga_cli.store.sqlite.migrations.m015_bodies_as_text import m015_bodies_as_text
from olga_cli.store.sqlite.migrations.m016_body_parts import m016_body_parts
from olga_cli.store.sqlite.migrations.m017_saturating_rollups import m017_saturating_rollups
from olga_cli.store.sqlite.migrations.m018_response_items import m018_response_items
from olga_cli.store.sqlite.migrations.m019_credit_slices import m019_credit_slices
from olga_cli.store.sqlite.migrations.m020_rollups_in_batches import m020_rollups_in_batches

__all__ = ["MIGRATIONS", "Migration", "run_script"]

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
    ("010_shared_rates", m010_shared_rates),
    ("011_session_usage", m011_session_usage),
    ("012_one_trip_batch", m012_one_trip_batch),
    ("013_hold_async_commit", m013_hold_async_commit),
    ("014_shared_upstream", m014_shared_upstream),
    ("015_bodies_as_text", m015_bodies_as_text),
    ("016_body_parts", m016_body_parts),
    ("017_saturating_rollups", m017_saturating_rollups),
    ("018_response_items", m018_response_items),
    ("019_credit_slices", m019_credit_slices),
    ("020_rollups_in_batches", m020_rollups_in_batches),
]

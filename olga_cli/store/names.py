"""Names of live keys, teams, guardrails and tags, read for shell completion from either backend: a
plain read-only look, no migration, no pool, so a <Tab> stays quick and never creates a store.

The statements are plain SQL that SQLite and PostgreSQL both run as written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

NAME_QUERIES = {
    "keys": "SELECT name FROM keys WHERE deleted_at IS NULL ORDER BY name",
    "teams": "SELECT name FROM teams WHERE deleted_at IS NULL ORDER BY name",
    # A guardrail is removed by id, or by its name when only one has it: both are offered.
    "guardrails": "SELECT name FROM guardrails WHERE deleted_at IS NULL "
    "UNION SELECT CAST(id AS TEXT) FROM guardrails WHERE deleted_at IS NULL ORDER BY 1",
    # Tags requests have carried (summed by the hour) and tags a limit names.
    "tags": "SELECT label FROM usage_labels_hourly WHERE kind = 'tag' "
    "UNION SELECT scope_id FROM limits WHERE scope = 'tag' AND deleted_at IS NULL ORDER BY 1",
}

Named = Literal["keys", "teams", "guardrails", "tags"]


def live_names(location: Path | str, table: Named) -> list[str]:
    """Names in ``table`` of the SQLite file or the ``postgresql://`` URL ``location``; none when the
    store does not exist or cannot be read."""
    if isinstance(location, str):
        try:
            from olga_cli.store.postgres.names import live_names as postgres_names
        except ImportError:  # no team extra installed: nothing to offer
            return []
        return postgres_names(location, table)
    from olga_cli.store.sqlite.names import live_names as sqlite_names

    return sqlite_names(location, table)

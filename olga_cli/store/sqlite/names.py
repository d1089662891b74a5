"""Names of live keys and teams, read for shell completion: a plain read-only look at the file, no
migration, no event loop, so a <Tab> costs a few milliseconds and never creates a store."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal

_QUERIES = {
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


def live_names(path: Path, table: Named) -> list[str]:
    """Names in ``table``; none when the store does not exist or cannot be read."""
    if not path.is_file():
        return []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return [row[0] for row in db.execute(_QUERIES[table])]
        finally:
            db.close()
    except sqlite3.Error:
        return []

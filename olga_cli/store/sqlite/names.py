"""Names of live keys and teams in a SQLite file, read for shell completion: a plain read-only look at
the file, no migration, no event loop, so a <Tab> costs a few milliseconds and never creates a store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from olga_cli.store.names import NAME_QUERIES, Named


def live_names(path: Path, table: Named) -> list[str]:
    """Names in ``table``; none when the store does not exist or cannot be read."""
    if not path.is_file():
        return []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return [row[0] for row in db.execute(NAME_QUERIES[table])]
        finally:
            db.close()
    except sqlite3.Error:
        return []

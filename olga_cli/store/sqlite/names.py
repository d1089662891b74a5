"""Names of live keys and teams, read for shell completion: a plain read-only look at the file, no
migration, no event loop, so a <Tab> costs a few milliseconds and never creates a store."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal

_QUERIES = {
    "keys": "SELECT name FROM keys WHERE deleted_at IS NULL ORDER BY name",
    "teams": "SELECT name FROM teams WHERE deleted_at IS NULL ORDER BY name",
}


def live_names(path: Path, table: Literal["keys", "teams"]) -> list[str]:
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

"""Read-only looks at a SQLite store for `olga doctor`: no migration, no file created, no lock held long."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from olga_cli.store.sqlite.migrations import MIGRATIONS

KNOWN_MIGRATIONS: tuple[str, ...] = tuple(name for name, _ in MIGRATIONS)


def open_readonly(path: Path) -> sqlite3.Connection:
    """Raises sqlite3.Error when the file cannot be opened."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)


def integrity_check(db: sqlite3.Connection) -> list[str]:
    """SQLite's own check: ``["ok"]`` or the problems found. Raises sqlite3.DatabaseError for a file
    that is not a database at all."""
    return [row[0] for row in db.execute("PRAGMA integrity_check")]


def applied_migrations(db: sqlite3.Connection) -> set[str]:
    try:
        return {row[0] for row in db.execute("SELECT name FROM migrations")}
    except sqlite3.DatabaseError:
        return set()

"""Opening the store: the one place that knows which backend a location names."""

from __future__ import annotations

from pathlib import Path

from olga_cli.store.base import Store, StoreError
from olga_cli.store.sqlite.store import open_sqlite

__all__ = ["StoreError", "open_store"]


async def open_store(path: Path) -> Store:
    """Open (creating if needed) and migrate the store; the caller owns it and closes it."""
    return await open_sqlite(path)

"""Opening the store: the one place that knows which backend a location names."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from olga_cli.errors import StoreError

if TYPE_CHECKING:
    from olga_cli.store.base import Store
    from olga_cli.store.hot import HotState

__all__ = ["StoreError", "open_hot", "open_store"]


def is_database_url(location: Path | str) -> bool:
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


async def open_store(location: Path | str) -> Store:
    """Open (creating if needed) and migrate the store; the caller owns it and closes it.

    ``location`` is a SQLite file, or a ``postgresql://`` URL in team mode.
    """
    if is_database_url(location):
        try:
            from olga_cli.store.postgres.store import open_postgres
        except ImportError:
            raise StoreError("team mode needs the PostgreSQL driver: pip install 'olga[team]'") from None
        return await open_postgres(str(location))
    from olga_cli.store.sqlite.store import open_sqlite

    return await open_sqlite(Path(location))


def open_hot(url: str) -> HotState:
    """Team mode's Redis named by ``url`` (``?prefix=...`` sets the key prefix). It connects on first
    use, so a Redis that is down at start is an outage like any other, not a failure to start."""
    try:
        from olga_cli.store.redis.state import open_redis
    except ImportError:
        raise StoreError("--redis-url needs the Redis client: pip install 'olga[team]'") from None
    return open_redis(url)

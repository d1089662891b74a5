"""Provider API key health in SQLite (migration 005); marks arrive through the recorder's batches."""

from __future__ import annotations

import aiosqlite

from olga_cli.store.provider_health import RESET, KeyHealthRow
from olga_cli.store.sqlite.connection import transaction


class SqliteHealth:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def load(self) -> tuple[list[KeyHealthRow], dict[str, float]]:
        async with self._db.execute(
            "SELECT provider, key_label, fingerprint, state, status, reason, until, updated_at, strikes"
            " FROM provider_health"
        ) as cursor:
            rows = [KeyHealthRow(*tuple(row)) async for row in cursor]
        resets = {row.provider: row.updated_at for row in rows if row.key_label == RESET}
        marks = [
            r for r in rows if r.key_label != RESET and r.updated_at > resets.get(r.provider, float("-inf"))
        ]
        return marks, resets

    async def reset(self, provider: str, *, now: float) -> None:
        async with transaction(self._db) as db:
            await db.execute("DELETE FROM provider_health WHERE provider = ?", (provider,))
            await db.execute(
                "INSERT INTO provider_health (provider, key_label, fingerprint, state, updated_at)"
                " VALUES (?, ?, '', 'reset', ?)",
                (provider, RESET, now),
            )

"""What every SQLite migration is, and the one way they run DDL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiosqlite

Migration = Callable[[aiosqlite.Connection], Awaitable[None]]


async def run_script(db: aiosqlite.Connection, script: str) -> None:
    """Run DDL statement by statement: ``executescript`` would commit the migration's transaction."""
    for statement in script.split(";"):
        lines = [line for line in statement.splitlines() if not line.strip().startswith("--")]
        if "".join(lines).strip():
            await db.execute("\n".join(lines))

"""The PostgreSQL connection pool: opened from a URL, migrated forward under an advisory lock; the one
way to run several statements as a transaction; and the change notifications that stand in for
SQLite's data_version."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from olga_cli.errors import StoreError
from olga_cli.store.postgres.migrations import MIGRATIONS

# Arbitrary constants naming olga's advisory locks (per schema: the schema's name is mixed in).
_MIGRATE_LOCK = 0x01_6A_0001
BATCH_LOCK = 0x01_6A_0002


def redact(url: str) -> str:
    """The URL without its password, to show in messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else f"{scheme}://{user}@{host}"


async def connect(url: str, *, max_size: int = 10) -> asyncpg.Pool:
    """A pool on ``url``, migrated; StoreError with what to do when the server cannot be reached."""
    try:
        pool = await asyncpg.create_pool(
            url, min_size=1, max_size=max_size, command_timeout=60, reset=_reset_if_needed
        )
    except (OSError, asyncpg.PostgresError, ValueError) as exc:
        raise StoreError(
            f"cannot reach the PostgreSQL store at {redact(url)} ({exc}); check --database-url or OLGA_DATABASE_URL"
        ) from None
    try:
        await migrate(pool)
    except BaseException:
        await pool.close()
        raise
    return pool


async def _reset_if_needed(conn: Any) -> None:
    """Instead of asyncpg's reset on every release (a round trip: unlock all, close cursors, unlisten,
    reset settings), nothing: olga leaves no session state on a pooled connection (its advisory locks
    end with their transaction, it opens no cursors, listens on a connection of its own, and takes its
    settings from the URL). A connection left inside a transaction (cancelled mid-rollback) is rolled back."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[Any]:
    """One connection from the pool inside BEGIN ... COMMIT (ROLLBACK on any exception)."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn


@asynccontextmanager
async def locked_transaction(pool: asyncpg.Pool, lock: int) -> AsyncIterator[Any]:
    """``transaction`` with the schema's advisory lock ``lock`` taken, in one round trip with BEGIN."""
    async with pool.acquire() as conn:
        # A simple query (no parameters) may hold two statements; ``lock`` is one of ours, an int.
        await conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock(hashtext(current_schema()), {int(lock)})")
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(Exception):  # a broken connection: the pool drops it
                await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")


async def migrate(pool: asyncpg.Pool) -> list[str]:
    applied: list[str] = []
    async with transaction(pool) as conn:
        # One migrator at a time; the others wait here and then find nothing left to do.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema()), $1)", _MIGRATE_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
        )
        done = {row["name"] for row in await conn.fetch("SELECT name FROM migrations")}
        unknown = done - {name for name, _ in MIGRATIONS}
        if unknown:
            raise StoreError(
                f"the store was written by a newer olga (migrations {', '.join(sorted(unknown))}); upgrade olga"
            )
        for name, script in MIGRATIONS:
            if name in done:
                continue
            await conn.execute(script)
            await conn.execute("INSERT INTO migrations (name, applied_at) VALUES ($1, $2)", name, time.time())
            applied.append(name)
    return applied


async def applied_migrations(pool: asyncpg.Pool) -> list[str]:
    return [row["name"] for row in await pool.fetch("SELECT name FROM migrations ORDER BY name")]


# The notification channel of the schema: stores in two schemas of one database never mix.
_CHANNEL = "'olga_changes_' || substr(md5(current_schema()), 1, 12)"


async def channel_of(pool: asyncpg.Pool) -> str:
    return str(await pool.fetchval(f"SELECT {_CHANNEL}"))


class Changes:
    """Counts the change notifications of the schema, as SQLite's data_version counts other commits.

    Every write made by a CLI command (keys, credits, limits, guardrails, provider resets) sends
    ``NOTIFY`` in its own transaction, so PostgreSQL delivers it when, and only if, it commits; a
    listening instance hears it within milliseconds. The listener is one dedicated connection,
    opened on the first look.
    """

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self._url = url
        self._listener: Any = None
        self.count = 0

    def _heard(self, *_: object) -> None:
        self.count += 1

    async def version(self) -> int:
        if self._listener is None or self._listener.is_closed():
            self._listener = await asyncpg.connect(self._url)
            await self._listener.add_listener(await channel_of(self._pool), self._heard)
            self.count += 1  # whatever happened while nobody listened: look again
        return self.count

    async def close(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()


async def notify(conn: Any) -> None:
    """Tell every listening instance that the store changed (delivered when the transaction commits)."""
    await conn.execute(f"SELECT pg_notify({_CHANNEL}, '')")

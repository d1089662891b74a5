"""Connections kept aside for the two statements every request sends: its hold and its record's batch.

Each use of asyncpg's pool costs olga about 45 µs of CPU (a queue, a shielded task to release the
connection, the idle timer re-armed) against about 35 µs for the statement itself, and a request used
it twice. A lane is a connection taken from the pool once and kept: a use pops it from a list and
puts it back, nothing more. Lanes count within the pool's size (so a server opens no more connections
than before) and are few; when all are busy a statement goes through the pool as before. A lane whose
statement failed or was interrupted goes back to the pool, which checks it, resets it or closes it as
it does any connection, and another is taken on a later use.
"""

from __future__ import annotations

from typing import Any

import asyncpg


class Lanes:
    def __init__(self, pool: asyncpg.Pool, *, size: int) -> None:
        self._pool = pool
        self._size = size
        self._idle: list[Any] = []
        self._taken = 0  # lanes held, idle or in use
        self._closed = False

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._run("fetchval", sql, args)

    async def execute(self, sql: str, *args: Any) -> str:
        return str(await self._run("execute", sql, args))

    async def _run(self, method: str, sql: str, args: tuple[Any, ...]) -> Any:
        """The statement by asyncpg's ``method`` (the pool and a connection have the same ones), on a
        lane if one is free, else through the pool."""
        conn = await self._take()
        if conn is None:
            return await getattr(self._pool, method)(sql, *args)
        try:
            value = await getattr(conn, method)(sql, *args)
        except BaseException:
            await self._drop(conn)
            raise
        await self._give_back(conn)
        return value

    async def _take(self) -> Any:
        """An idle lane; else a new one from the pool while fewer than ``size`` are held; else None."""
        if self._idle:
            return self._idle.pop()
        if self._closed or self._taken >= self._size:
            return None
        self._taken += 1
        try:
            return await self._pool.acquire()
        except BaseException:
            self._taken -= 1
            raise

    async def _give_back(self, conn: Any) -> None:
        if self._closed:  # the pool is closing and waits for it
            await self._drop(conn)
        else:
            self._idle.append(conn)

    async def _drop(self, conn: Any) -> None:
        self._taken -= 1
        await self._pool.release(conn)

    async def close(self) -> None:
        """Give every idle lane back to the pool (one in use goes back when its statement ends)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await self._drop(conn)

"""The connections kept aside for each request's hold and batch (``store/postgres/lanes.py``): reused
without the pool, never more than their number, and back in the pool when anything goes wrong, so the
pool still closes and a broken or interrupted connection is never used again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from olga_cli.store.postgres.connection import connect
from olga_cli.store.postgres.lanes import Lanes

PID = "SELECT pg_backend_pid()"


@asynccontextmanager
async def lanes_on(pg_url: str, *, pool_size: int, size: int) -> AsyncIterator[Lanes]:
    """Lanes on a pool of their own; afterwards the pool must close, which it does only once every
    lane was given back."""
    pool = await connect(pg_url, max_size=pool_size)
    lanes = Lanes(pool, size=size)
    try:
        yield lanes
    finally:
        await lanes.close()
        await asyncio.wait_for(pool.close(), 5)


async def test_a_lane_is_one_connection_used_again_and_again(pg_url: str) -> None:
    async with lanes_on(pg_url, pool_size=4, size=2) as lanes:
        pids = {await lanes.fetchval(PID) for _ in range(5)}
        assert len(pids) == 1
        assert await lanes.execute("SELECT 1") == "SELECT 1"
        assert await lanes.fetchval(PID) in pids


async def test_when_every_lane_is_busy_the_pool_serves(pg_url: str) -> None:
    async with lanes_on(pg_url, pool_size=4, size=1) as lanes:
        busy = asyncio.create_task(lanes.fetchval("SELECT pg_backend_pid() FROM pg_sleep(0.5)"))
        await asyncio.sleep(0.1)
        other = await asyncio.wait_for(lanes.fetchval(PID), 0.3)  # not waiting for the busy lane
        assert other != await busy
        assert await lanes.fetchval(PID) == await busy  # the lane, idle again


async def test_a_failed_statement_gives_its_connection_back_to_the_pool(pg_url: str) -> None:
    async with lanes_on(pg_url, pool_size=2, size=1) as lanes:
        with pytest.raises(asyncpg.DivisionByZeroError):
            await lanes.fetchval("SELECT 1 / 0")
        # The lane is the pool's again; a new one is taken, and works.
        assert await lanes.fetchval("SELECT 2") == 2


async def test_an_interrupted_statement_never_leaves_its_connection_in_a_lane(pg_url: str) -> None:
    async with lanes_on(pg_url, pool_size=2, size=1) as lanes:
        first = await lanes.fetchval(PID)
        task = asyncio.create_task(lanes.execute("SELECT pg_sleep(5)"))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Back in the pool, which cancelled the statement; the next lane answers at once.
        assert await asyncio.wait_for(lanes.fetchval("SELECT 3"), 2) == 3
        assert first is not None


async def test_closing_waits_for_a_lane_in_use(pg_url: str) -> None:
    pool = await connect(pg_url, max_size=2)
    lanes = Lanes(pool, size=1)
    busy = asyncio.create_task(lanes.fetchval("SELECT 4 FROM pg_sleep(0.3)"))
    await asyncio.sleep(0.1)
    await lanes.close()
    await asyncio.wait_for(pool.close(), 5)  # returns once the busy lane came back
    assert await busy == 4
    with pytest.raises(asyncpg.InterfaceError):  # closed: nothing is kept aside any more
        await lanes.fetchval("SELECT 5")

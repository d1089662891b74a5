"""Slices of credit (``gateway/admission/slices.py``): a key with money to spare is admitted in memory
against a slice its instance reserved, and every guarantee of the holds stays: across instances the
key spends exactly its credits and never more, a slice goes back by itself when idle, and a killed
instance's slice comes back with its lease."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from olga_cli.gateway.admission.slices import FLOOR_SLICES, IDLE, LOW_FOR, SLICE_REQUESTS, Slices
from olga_cli.store.base import Store
from olga_cli.store.db import open_store
from olga_cli.store.holds import slice_draw
from tests.team.instances import start_instance
from tests.team.test_instances import burst, shared_state, stop_all, three, worst_case
from tests.team.test_instances import upstream_at_worst_case as upstream_at_worst_case  # the fixture


@asynccontextmanager
async def a_key(pg_url: str, name: str, credits: int) -> AsyncIterator[tuple[Store, str, str]]:
    """The store, and a new key's id and secret with ``credits``."""
    store = await open_store(pg_url)
    try:
        row, key = await store.keys.create_key(name=name, credits_pico=credits)
        yield store, row.id, key
    finally:
        await store.close()


async def slices_in_store(pg_url: str) -> tuple[int, int]:
    """(slices, the keys' reserved credits in all) as the store has them."""
    conn = await asyncpg.connect(pg_url)
    try:
        count = await conn.fetchval("SELECT COUNT(*) FROM credit_slices")
        reserved = await conn.fetchval("SELECT COALESCE(SUM(reserved), 0) FROM balances")
        return int(count), int(reserved)
    finally:
        await conn.close()


async def all_given_back(pg_url: str, seconds: float) -> tuple[int, int]:
    """``slices_in_store`` once nothing is reserved, or after ``seconds``."""
    for _ in range(int(seconds / 0.1)):
        if await slices_in_store(pg_url) == (0, 0):
            break
        await asyncio.sleep(0.1)
    return await slices_in_store(pg_url)


async def most_slices_during(pg_url: str, work: asyncio.Task[Counter[int]]) -> int:
    """The most slices the store held at once while ``work`` ran."""
    most = 0
    while not work.done():
        most = max(most, (await slices_in_store(pg_url))[0])
        await asyncio.sleep(0.02)
    return most


@pytest.mark.usefixtures("upstream_at_worst_case")
async def test_a_key_spends_exactly_its_credits_across_three_instances_when_sliced(
    home: Path, pg_url: str
) -> None:
    """Credits for 200 worst cases, enough to slice at first. A burst of 300 over three instances never
    spends more than the credits; what slices kept back comes back once they idle and serves the next
    burst; in all, exactly 200 requests are served and the balance ends at exactly 0."""
    worst = worst_case(home)
    async with a_key(pg_url, "sliced", 200 * worst) as (store, key_id, key):
        instances = await three(home, pg_url)
        try:
            first = asyncio.create_task(burst(instances, key))
            assert await most_slices_during(pg_url, first) >= 1  # the instances did slice it
            served = first.result()[200]
            assert served <= 200 and set(first.result()) <= {200, 402}
            credits, spent, _, _ = await shared_state(store, key_id)
            assert (credits, spent) == (200 * worst, served * worst)
            assert await all_given_back(pg_url, 5) == (0, 0)  # idle slices went back
            second = await burst(instances, key)
            assert served + second[200] == 200 and set(second) <= {200, 402}
        finally:
            await stop_all(instances)
        assert await shared_state(store, key_id) == (200 * worst, 200 * worst, 0, 0)
        assert await store.ledger.key_totals(key_id) == (200 * worst, 200 * worst)  # balance exactly 0
        assert await store.ledger.charge_summary(key_id) == (200, 200 * worst)
        assert await slices_in_store(pg_url) == (0, 0)


@pytest.mark.usefixtures("upstream_at_worst_case")
async def test_an_idle_slice_goes_back_by_itself(home: Path, pg_url: str) -> None:
    worst = worst_case(home)
    async with a_key(pg_url, "idle", 10_000 * worst) as (store, key_id, key):
        instance = await start_instance(home, pg_url)
        try:
            assert await burst([instance], key, 3) == Counter({200: 3})
            count, reserved = await slices_in_store(pg_url)
            assert count == 1 and reserved > 0  # set aside for the key's next requests
            assert await all_given_back(pg_url, 5) == (0, 0)
            assert await shared_state(store, key_id) == (10_000 * worst, 3 * worst, 0, 0)
        finally:
            await instance.stop()


@pytest.mark.usefixtures("upstream_at_worst_case")
async def test_a_killed_instances_slice_comes_back_with_its_lease(home: Path, pg_url: str) -> None:
    worst = worst_case(home)
    async with a_key(pg_url, "doomed", 10_000 * worst) as (store, key_id, key):
        doomed, survivor = await asyncio.gather(start_instance(home, pg_url), start_instance(home, pg_url))
        try:
            assert await burst([doomed], key, 2) == Counter({200: 2})
            await doomed.stop(signal.SIGKILL)  # its slice still reserves the key's money
            count, reserved = await slices_in_store(pg_url)
            assert count == 1 and reserved > 0
            # the survivor frees it once the dead instance's lease (5 s) runs out
            assert await all_given_back(pg_url, 12) == (0, 0)
            assert await shared_state(store, key_id) == (10_000 * worst, 2 * worst, 0, 0)
            assert await burst([survivor], key, 2) == Counter({200: 2})  # and the key spends on
        finally:
            await stop_all([doomed, survivor])
        assert await store.ledger.charge_summary(key_id) == (4, 4 * worst)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def a_book(store: Store) -> tuple[Slices, Clock]:
    """A slices book of a live instance (its lease renewed), on a clock the test moves."""
    assert store.holds is not None
    await store.holds.beat("olga-book", time.time())
    clock = Clock()
    return Slices(store.holds, "olga-book", clock), clock


async def test_the_slices_book_and_the_store_agree_on_what_is_reserved(pg_url: str) -> None:
    """Whatever the requests do (drawn, settled with their cost, left without a record), the store
    reserves what the book has free plus what it promised; draws take exactly the cost off."""
    async with a_key(pg_url, "booked", 10**9) as (store, key_id, _):
        book, clock = await a_book(store)
        assert book.worth_asking(key_id)
        first = await book.take(key_id, 1_000, time.time())  # the slice, with its first request's promise
        assert first is not None
        size = 1_000 * SLICE_REQUESTS
        assert await reserved(store, key_id) == size and first.free == size - 1_000
        second = book.draw(key_id, 1_000)
        assert second is first and first.in_flight == 2
        assert book.draw(key_id, size) is None  # more than it has free: a hold (or a new slice) instead
        drawn = Slices.settle(first, 1_000, 400)  # cost 400 of the 1,000 promised
        await store.records.write_batch([], [slice_draw(first.id, drawn)])
        Slices.release(second, 1_000)  # left without a record
        assert first.in_flight == 0 and first.free == size - 400
        assert await reserved(store, key_id) == size - 400  # the draw came off the slice and the key
        clock.now += IDLE - 0.1
        await book.give_back_idle()
        assert await reserved(store, key_id) == size - 400  # not idle long enough yet
        clock.now += 0.2
        await book.give_back_idle()
        assert await reserved(store, key_id) == 0 and await slices_in_store(pg_url) == (0, 0)
        assert book.draw(key_id, 1_000) is None  # gone from the book too


async def test_a_key_near_its_end_is_refused_a_slice_and_not_asked_again_at_once(pg_url: str) -> None:
    credits = 1_000 * SLICE_REQUESTS * (FLOOR_SLICES + 1) - 1  # a pico short of a slice and its floor
    async with a_key(pg_url, "short", credits) as (store, key_id, _):
        book, clock = await a_book(store)
        assert await book.take(key_id, 1_000, time.time()) is None
        assert await reserved(store, key_id) == 0
        assert not book.worth_asking(key_id)  # its requests take holds meanwhile
        clock.now += LOW_FOR
        assert book.worth_asking(key_id)
        await store.ledger.add_credits(key_id, 1)  # exactly a slice and four more: granted
        assert await book.take(key_id, 1_000, time.time()) is not None
        assert await reserved(store, key_id) == 1_000 * SLICE_REQUESTS


async def reserved(store: Store, key_id: str) -> int:
    balance = await store.holds.balance(key_id)  # type: ignore[union-attr]
    assert balance is not None
    return balance[2]

"""The batch written by one call of ``olga_write_batch`` (migration 012): records, charges, roll-ups,
admissions and the holds' end together, exact when several instances take and settle at once."""

from __future__ import annotations

import asyncio
import itertools
import time

import asyncpg
import pytest

from olga_cli.store.db import open_store
from olga_cli.store.holds import HoldRequest, hold_settle
from olga_cli.store.limits import AlertRow, DayUsage, admission_insert, alert_insert
from olga_cli.store.postgres import connection
from olga_cli.store.postgres.holds import TAKE, take_args
from olga_cli.store.postgres.store import PostgresStore
from tests.cli.seed import make_record

WORST = 7_000  # each request's worst case, reserved by its hold
CHARGED = 5_000  # what each request turns out to cost


def _hold(key_id: str, n: int, *, team_id: str | None = None, instance: str = "olga-a") -> HoldRequest:
    return HoldRequest(
        id=f"gen-{instance}-{n}",
        instance=instance,
        key_id=key_id,
        team_id=team_id,
        at=time.time(),
        capped=True,
        credits=WORST,
        cost=WORST,
        tokens=10,
        rate_tokens=10,
        rpm=None,
        tpm=None,
        labels=("tag:checkout",),
    )


async def _open(url: str) -> PostgresStore:
    store = await open_store(url)
    assert isinstance(store, PostgresStore)
    return store


async def test_one_batch_settles_many_holds_of_a_key_and_sums_what_they_share(pg_url: str) -> None:
    store = await _open(pg_url)
    try:
        assert store.holds is not None
        team = await store.keys.create_team(name="ops")
        row, _ = await store.keys.create_key(name="k", team_id=team.id, credits_pico=100_000)
        holds = [_hold(row.id, n, team_id=team.id) for n in range(4)]
        for hold in holds:
            assert await store.holds.take(hold) is None
        assert await store.holds.balance(row.id) == (100_000, 0, 4 * WORST)
        records = [
            make_record(id=h.id, key_id=row.id, team_id=team.id, cost_pico=CHARGED, tags=["checkout"])
            for h in holds
        ]
        extras = [
            *(hold_settle(h.id) for h in holds),
            *(
                admission_insert(
                    generation_id=h.id,
                    key_id=row.id,
                    team_id=team.id,
                    at=h.at,
                    cost=CHARGED,
                    tokens=19,
                    tags=("checkout",),
                    end_user="ann",
                )
                for h in holds
            ),
        ]
        await store.records.write_batch(records, extras)
        # Four charges and four holds' ends on one row; four admissions on each usage row they share.
        assert await store.holds.balance(row.id) == (100_000, 4 * CHARGED, 0)
        assert await store.ledger.key_totals(row.id) == (100_000, 4 * CHARGED)
        day = int(holds[0].at // 86400)
        usage = await store.limits.usage_by_day()
        for scope in (("key", row.id), ("team", team.id), ("tag", "checkout"), ("user", "ann")):
            assert usage[scope] == {day: DayUsage(4 * CHARGED, 4, 4 * 19)}
        assert await store.pool.fetchval("SELECT COUNT(*) FROM holds") == 0
        [hourly] = await store.pool.fetch("SELECT requests, cost_pico FROM usage_hourly")
        assert (hourly["requests"], hourly["cost_pico"]) == (4, 4 * CHARGED)
        [tagged] = await store.pool.fetch("SELECT requests FROM usage_labels_hourly WHERE kind = 'tag'")
        assert tagged["requests"] == 4
    finally:
        await store.close()


async def test_a_batch_of_uncharged_records_leaves_no_balance_behind(pg_url: str) -> None:
    store = await _open(pg_url)
    try:
        assert store.holds is not None
        await store.records.write_batch([make_record(key_id="key_free", cost_pico=0)])
        assert await store.holds.balance("key_free") is None  # as before: never topped up nor charged
        assert await store.ledger.key_totals("key_free") == (0, 0)
    finally:
        await store.close()


async def test_instances_taking_and_settling_at_once_spend_their_credits_exactly(pg_url: str) -> None:
    """Three instances (three pools), twelve requests at a time each, on credits for exactly ten
    charges: every hold taken, released or settled by a batch, and the key ends spent to the pico."""
    stores = [await _open(pg_url) for _ in range(3)]
    try:
        row, _ = await stores[0].keys.create_key(name="shared", credits_pico=10 * CHARGED + WORST - CHARGED)
        settled: list[str] = []
        released: list[str] = []
        admitted = itertools.count()

        async def worker(store: PostgresStore, instance: str, n: int) -> None:
            assert store.holds is not None
            for attempt in range(200):
                hold = _hold(row.id, n * 1000 + attempt, instance=instance)
                if await store.holds.take(hold) is not None:
                    credits, spent, _ = await store.holds.balance(row.id) or (0, 0, 0)
                    if credits - spent < WORST:
                        return  # nothing left to admit, whoever holds the rest
                    await asyncio.sleep(0.001)
                    continue
                if next(admitted) % 3 == 2:  # a request that leaves no record gives its hold back
                    await store.holds.release(hold.id)
                    released.append(hold.id)
                    continue
                record = make_record(id=hold.id, key_id=row.id, cost_pico=CHARGED)
                await store.records.write_batch([record], [hold_settle(hold.id)])
                settled.append(hold.id)

        await asyncio.gather(
            *(worker(store, f"olga-{i}", n) for i, store in enumerate(stores) for n in range(12))
        )
        assert len(settled) == 10 and released
        assert await stores[1].holds.balance(row.id) == (10 * CHARGED + WORST - CHARGED, 10 * CHARGED, 0)  # type: ignore[union-attr]
        assert await stores[2].ledger.key_totals(row.id) == (10 * CHARGED + WORST - CHARGED, 10 * CHARGED)
        assert await stores[0].pool.fetchval("SELECT COUNT(*) FROM holds") == 0
        seqs = await stores[0].pool.fetch("SELECT seq FROM generations ORDER BY seq")
        assert len(seqs) == 10
    finally:
        for store in stores:
            await store.close()


async def test_a_batch_with_rows_of_other_kinds_commits_them_with_it_or_not_at_all(pg_url: str) -> None:
    """Rows the function does not write (an alert here) go in the same transaction as its call."""
    store = await _open(pg_url)
    try:
        assert store.holds is not None
        row, _ = await store.keys.create_key(name="k", credits_pico=100_000)
        limit = await store.limits.create_limit(
            scope="key", scope_id=row.id, metric="cost", window="daily", threshold=10_000, alerts=(50,)
        )
        hold = _hold(row.id, 1)
        assert await store.holds.take(hold) is None
        first = make_record(key_id=row.id, cost_pico=1)
        await store.records.write_batch([first])
        day = int(hold.at // 86400)
        alert = alert_insert(
            AlertRow(0, limit.id, "key", row.id, "cost", "daily", day, 50, 10_000, 5_001, hold.id, hold.at)
        )
        record = make_record(id=hold.id, key_id=row.id, cost_pico=CHARGED)
        with pytest.raises(asyncpg.UniqueViolationError):  # the first record again: nothing commits
            await store.records.write_batch([record, first], [hold_settle(hold.id), alert])
        assert await store.holds.balance(row.id) == (100_000, 1, WORST)
        assert await store.alerts.fired_alerts() == set()
        await store.records.write_batch([record], [hold_settle(hold.id), alert])
        assert await store.holds.balance(row.id) == (100_000, 1 + CHARGED, 0)
        assert await store.alerts.fired_alerts() == {(limit.id, day, 50)}
    finally:
        await store.close()


async def test_a_hold_commits_unflushed_and_leaves_its_connection_as_it_was(pg_url: str) -> None:
    """Migration 013: the hold's own transaction, and only it, skips waiting for its WAL flush; a
    refusal writes nothing and changes nothing; the pooled connection keeps no trace of either."""
    pool = await connection.connect(pg_url, max_size=1)  # one connection: the one that took the hold
    store = PostgresStore(pool, pg_url)
    try:
        assert store.holds is not None
        row, _ = await store.keys.create_key(name="k", credits_pico=WORST)
        async with pool.acquire() as conn:
            async with conn.transaction():
                assert await conn.fetchval("SHOW synchronous_commit") == "on"
                await conn.fetchval(TAKE, *take_args(_hold(row.id, 1)))
                assert await conn.fetchval("SHOW synchronous_commit") == "off"
            assert await conn.fetchval("SHOW synchronous_commit") == "on"
            async with conn.transaction():
                refusal = await conn.fetchval(TAKE, *take_args(_hold(row.id, 2)))
                assert refusal == "credits:0"
                assert await conn.fetchval("SHOW synchronous_commit") == "on"
        assert await store.holds.take(_hold(row.id, 3)) is not None  # the first hold counts
        assert await pool.fetchval("SHOW synchronous_commit") == "on"
        assert await store.holds.balance(row.id) == (WORST, 0, WORST)
    finally:
        await store.close()


async def test_each_record_keeps_its_own_bodies_sent_as_text_beside_the_json(pg_url: str) -> None:
    """Migration 015: bodies travel as two text arrays joined to the records by position."""
    store = await _open(pg_url)
    try:
        big = '{"messages": [' + ", ".join(['{"content": "ünï \\"q\\"\\n' + "x" * 500 + '"}'] * 300) + "]}"
        records = [
            make_record(request_body=big, response_body="{}"),
            make_record(request_body=None, response_body=None),
            make_record(request_body='{"a": 1}', response_body=big[:1000]),
        ]
        await store.records.write_batch(records)
        for record in records:
            stored = await store.records.get_generation(record.id)
            assert stored is not None
            assert (stored.request_body, stored.response_body) == (record.request_body, record.response_body)
        ordered = await store.pool.fetch("SELECT id FROM generations ORDER BY seq")
        assert [row["id"] for row in ordered] == [r.id for r in records]  # seq in the batch's order
    finally:
        await store.close()

"""``write_batch``: records, their charges and the extra rows of a batch commit together, in order,
or not at all; the same whether the transaction runs as one call on aiosqlite's thread or, on an
aiosqlite without that, one call per statement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from olga_cli.records import Attempt
from olga_cli.store.db import open_store
from olga_cli.store.limits import admission_insert, admissions_prune
from olga_cli.store.sqlite.records import get_generation, write_batch
from tests.cli.seed import make_record


def admitted(name: str, at: float) -> Any:
    return admission_insert(generation_id=name, key_id="key_t", team_id=None, at=at, cost=1, tokens=2)


class PublicOnly:
    """An aiosqlite connection seen through its public methods only."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def execute(self, sql: str, params: Any = ()) -> Any:
        return await self._db.execute(sql, params)

    async def executemany(self, sql: str, params: Any) -> Any:
        return await self._db.executemany(sql, params)


@pytest.fixture(params=["one call", "one call a statement"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Any, aiosqlite.Connection, str]]:
    opened = await open_store(tmp_path / "olga.db")
    row, _ = await opened.keys.create_key(name="laptop", credits_pico=None)
    db = opened.conn  # type: ignore[attr-defined]
    try:
        yield (db if request.param == "one call" else PublicOnly(db)), db, row.id
    finally:
        await opened.close()


async def count(db: aiosqlite.Connection, sql: str) -> Any:
    async with db.execute(sql) as cursor:
        found = await cursor.fetchone()
    assert found is not None
    return found[0]


async def test_records_charges_and_extras_commit_together_in_order(
    store: tuple[Any, aiosqlite.Connection, str],
) -> None:
    writer, db, key_id = store
    paid = make_record(
        key_id=key_id, cost_pico=6_000_000, attempts=[Attempt("openai", "gpt-4o-mini", 200, 3.5)]
    )
    free = make_record(key_id=key_id, cost_pico=0)
    # Runs of the same kind are grouped; a prune between two runs of inserts must see the first run
    # and not the second.
    extras = [
        admitted("a", 100.0),
        admitted("b", 200.0),
        admissions_prune(150.0),
        admissions_prune(150.0),
        admitted("c", 50.0),
    ]
    await write_batch(writer, [paid, free], extras)
    assert await count(db, "SELECT COUNT(*) FROM generations") == 2
    assert await count(db, "SELECT COUNT(*) FROM ledger") == 1  # a free request leaves no charge
    assert await count(db, "SELECT SUM(amount_pico) FROM ledger") == 6_000_000
    assert (
        await count(
            db,
            "SELECT group_concat(generation_id, ',') FROM (SELECT * FROM admissions ORDER BY generation_id)",
        )
        == "b,c"
    )
    assert await count(db, "SELECT SUM(requests) FROM usage_daily WHERE scope = 'key'") == 3
    stored = await get_generation(db, paid.id)
    assert stored is not None and stored.attempts == paid.attempts and stored.cost_pico == 6_000_000
    assert not db.in_transaction


async def test_a_failing_statement_rolls_the_whole_batch_back(
    store: tuple[Any, aiosqlite.Connection, str],
) -> None:
    writer, db, key_id = store
    first = make_record(key_id=key_id, cost_pico=0)
    await write_batch(writer, [first], [admitted("a", 100.0)])
    doomed = make_record(key_id=key_id, cost_pico=1_000)
    with pytest.raises(aiosqlite.IntegrityError):  # the same generation id twice
        await write_batch(writer, [doomed, first], [admissions_prune(1_000.0), admitted("b", 2_000.0)])
    assert await count(db, "SELECT COUNT(*) FROM generations") == 1
    assert await count(db, "SELECT COUNT(*) FROM ledger") == 0
    assert await count(db, "SELECT group_concat(generation_id) FROM admissions") == "a"
    assert not db.in_transaction
    await write_batch(writer, [make_record(key_id=key_id)])  # and the connection writes on
    assert await count(db, "SELECT COUNT(*) FROM generations") == 2

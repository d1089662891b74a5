"""The usage roll-ups a batch writes with its records (``store/sqlite/rollups.py``) equal what the
records and admissions themselves sum to, recomputed here in SQL the way the triggers that kept them
until migration 020 did, over batches of every size and records of every shape."""

from __future__ import annotations

import json
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from olga_cli.store.db import open_store
from olga_cli.store.limits import admission_insert
from olga_cli.store.sqlite.records import write_batch
from olga_cli.store.sqlite.rollups import rollup_statements
from tests.cli.seed import make_record

HOURLY = """
SELECT CAST(created_at / 3600 AS INTEGER) * 3600 AS h, key_id, COALESCE(team_id, ''),
       COALESCE(model, model_requested, ''), COALESCE(provider, ''), COALESCE(app, ''),
       COUNT(*), SUM(status >= 400), SUM(tokens_prompt), SUM(tokens_completion), SUM(tokens_cached),
       SUM(cost_pico), ROUND(SUM(latency_ms), 6), SUM(cache_saved_pico)
FROM generations GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
"""
HOURLY_STORED = """
SELECT hour, key_id, team_id, model, provider, app, requests, errors, tokens_prompt, tokens_completion,
       tokens_cached, cost_pico, ROUND(latency_ms, 6), cache_saved_pico
FROM usage_hourly ORDER BY 1, 2, 3, 4, 5, 6
"""
LABELS = """
WITH labelled AS (
    SELECT DISTINCT g.id, 'tag' AS kind, j.value AS label FROM generations g, json_each(g.tags) j
    UNION ALL SELECT id, 'user', end_user FROM generations WHERE end_user IS NOT NULL
    UNION ALL SELECT id, 'session', session_id FROM generations WHERE session_id IS NOT NULL
)
SELECT CAST(g.created_at / 3600 AS INTEGER) * 3600 AS h, l.kind, l.label, COUNT(*), SUM(g.status >= 400),
       SUM(g.tokens_prompt), SUM(g.tokens_completion), SUM(g.tokens_cached), SUM(g.cost_pico),
       ROUND(SUM(g.latency_ms), 6)
FROM labelled l JOIN generations g ON g.id = l.id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
LABELS_STORED = """
SELECT hour, kind, label, requests, errors, tokens_prompt, tokens_completion, tokens_cached, cost_pico,
       ROUND(latency_ms, 6)
FROM usage_labels_hourly ORDER BY 1, 2, 3
"""
DAILY = """
WITH scoped AS (
    SELECT id, 'key' AS scope, key_id AS scope_id FROM admissions
    UNION ALL SELECT id, 'team', team_id FROM admissions WHERE team_id IS NOT NULL
    UNION ALL SELECT DISTINCT a.id, 'tag', j.value FROM admissions a, json_each(a.tags) j
    UNION ALL SELECT id, 'user', end_user FROM admissions WHERE end_user IS NOT NULL
    UNION ALL SELECT id, 'key_user', key_id || char(31) || end_user FROM admissions WHERE end_user IS NOT NULL
    UNION ALL SELECT id, 'team_user', team_id || char(31) || end_user FROM admissions
        WHERE end_user IS NOT NULL AND team_id IS NOT NULL
)
SELECT s.scope, s.scope_id, CAST(a.at / 86400 AS INTEGER) AS d, SUM(a.cost_pico), COUNT(*), SUM(a.tokens)
FROM scoped s JOIN admissions a ON a.id = s.id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
DAILY_STORED = "SELECT scope, scope_id, day, cost_pico, requests, tokens FROM usage_daily ORDER BY 1, 2, 3"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    store = await open_store(tmp_path / "olga.db")
    try:
        yield store.conn  # type: ignore[attr-defined]
    finally:
        await store.close()


async def rows(db: aiosqlite.Connection, sql: str) -> list[tuple[Any, ...]]:
    async with db.execute(sql) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


def varied_record(rng: random.Random, now: float) -> Any:
    model = rng.choice(["openai/gpt-4o-mini", "anthropic/claude-sonnet-4", None])
    return make_record(
        created_at=now - rng.choice([0, 1, 3599, 3600, 86_400 * 2]) - rng.random(),
        key_id=rng.choice(["key_a", "key_b"]),
        team_id=rng.choice([None, "team_x"]),
        app=rng.choice([None, "claude-code", ""]),
        model=model,
        model_requested=rng.choice(["gpt-4o-mini", "sonnet"]),
        provider=None if model is None else model.split("/")[0],
        status=rng.choice([200, 200, 429, 502]),
        tokens_prompt=rng.randrange(0, 5000),
        tokens_completion=rng.randrange(0, 900),
        tokens_cached=rng.randrange(0, 100),
        cache_saved_pico=rng.randrange(0, 10**6),
        cost_pico=rng.randrange(0, 10**9),
        latency_ms=round(rng.uniform(1, 900), 3),
        tags=rng.choice([[], ["ci"], ["ci", "nightly"], ["nightly", "nightly"]]),
        end_user=rng.choice([None, "alice", "bob"]),
        session_id=rng.choice([None, "s-1", "s-2"]),
    )


async def test_batches_of_every_size_sum_into_the_rollups_as_the_rows_do(db: aiosqlite.Connection) -> None:
    rng, now = random.Random(20), time.time()
    for size in [1, 2, 7, 1, 16, 3, 40, 1, 1, 5]:
        records = [varied_record(rng, now) for _ in range(size)]
        extras = [
            admission_insert(
                generation_id=r.id,
                key_id=r.key_id,
                team_id=r.team_id,
                at=r.created_at,
                cost=r.cost_pico,
                tokens=r.tokens_prompt + r.tokens_completion,
                tags=r.tags,
                end_user=r.end_user,
            )
            for r in records
        ]
        await write_batch(db, records, extras)
    hourly = await rows(db, HOURLY_STORED)
    assert hourly == await rows(db, HOURLY)
    assert len(hourly) > 20 and {row[3] for row in hourly} >= {"sonnet", "gpt-4o-mini", "openai/gpt-4o-mini"}
    labels = await rows(db, LABELS_STORED)
    assert labels == await rows(db, LABELS)
    assert {row[1] for row in labels} == {"tag", "user", "session"}
    daily = await rows(db, DAILY_STORED)
    assert daily == await rows(db, DAILY)
    assert {row[0] for row in daily} == {"key", "team", "tag", "user", "key_user", "team_user"}


async def test_a_tag_given_twice_counts_once(db: aiosqlite.Connection) -> None:
    record = make_record(tags=["nightly", "nightly"], cost_pico=5)
    extra = admission_insert(
        generation_id=record.id,
        key_id=record.key_id,
        team_id=None,
        at=record.created_at,
        cost=5,
        tokens=1,
        tags=record.tags,
    )
    await write_batch(db, [record], [extra])
    assert await rows(db, "SELECT requests FROM usage_labels_hourly WHERE kind = 'tag'") == [(1,)]
    assert await rows(db, "SELECT requests, cost_pico FROM usage_daily WHERE scope = 'tag'") == [(1, 5)]


def test_a_sum_past_64_bits_goes_in_as_a_float_as_sqlite_adds() -> None:
    big = [make_record(cost_pico=2**62, tags=[]) for _ in range(3)]
    (sql, params), *_ = rollup_statements(big, [])
    assert "usage_hourly" in sql and len(params) == 1
    assert params[0][11] == float(3 * 2**62)


async def test_no_triggers_are_left_to_count_twice(db: aiosqlite.Connection) -> None:
    assert await rows(db, "SELECT name FROM sqlite_master WHERE type = 'trigger'") == []
    record = make_record(tags=json.loads('["one"]'))
    await write_batch(db, [record], [])
    assert await rows(db, "SELECT requests FROM usage_hourly") == [(1,)]

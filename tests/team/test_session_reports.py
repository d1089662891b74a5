"""Agent sessions in the reports, alike on SQLite and PostgreSQL: `olga usage --by session` sums them
(whole hours from the roll-up, the partial first hour from the records), `olga logs --session`
finds one session's requests, and records written before the roll-up existed are summed in once."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

from olga_cli.records import GenerationRecord
from olga_cli.store.base import Store
from olga_cli.store.db import open_store
from olga_cli.store.reports import LogFilter
from tests.cli.seed import make_record
from tests.cli.terminal import json_array, olga

NOW = 1_800_057_600.0  # 2027-01-16 00:00 UTC: on an hour boundary


def _records() -> list[GenerationRecord]:
    plan = [
        ("sess-a", "key_a", NOW - 1500, 200, 100),  # in the partial first hour of `since=NOW - 1800`
        ("sess-a", "key_a", NOW + 30, 200, 200),
        ("sess-b", "key_b", NOW + 60, 502, 0),
        ("sess-a", "key_a", NOW + 4000, 200, 300),
        (None, "key_a", NOW + 90, 200, 7),  # no session: not in the breakdown, still in the totals
    ]
    return [
        make_record(session_id=session, key_id=key, created_at=at, status=status, cost_pico=cost)
        for session, key, at, status, cost in plan
    ]


async def test_sessions_are_summed_and_filtered(any_store: Store) -> None:
    db = any_store
    records = _records()
    await db.records.write_batch(records[:3])
    mark = await db.reports.high_water()
    await db.records.write_batch(records[3:])
    for since in (None, NOW - 1800):
        usage = await db.reports.usage(since=since, until=NOW + 7200, by="session")
        assert [(r.group, r.requests, r.errors, r.cost_pico) for r in usage.rows] == [
            ("sess-a", 3, 0, 600),
            ("sess-b", 1, 1, 0),
        ]
    later = await db.reports.usage(since=NOW + 1, until=NOW + 7200, by="session")
    assert {r.group: r.cost_pico for r in later.rows} == {"sess-a": 500, "sess-b": 0}
    found = await db.reports.latest(LogFilter(session_id="sess-a"), limit=10)
    assert [r.id for _, r in found] == [records[i].id for i in (0, 1, 3)]
    assert all(r.session_id == "sess-a" for _, r in found)
    assert [r.id for _, r in await db.reports.latest(LogFilter(session_id="sess-a"), limit=2)] == [
        records[1].id,
        records[3].id,
    ]
    narrowed = LogFilter(session_id="sess-a", status=(500, 599))
    assert await db.reports.latest(narrowed, limit=10) == []
    assert await db.reports.latest(LogFilter(session_id="sess-a", key_id="key_b"), limit=10) == []
    top = await db.reports.high_water()
    followed = await db.reports.after(LogFilter(session_id="sess-a"), after_rowid=mark, up_to=top)
    assert [r.id for _, r in followed] == [records[3].id]
    # The roll-up outlives pruning, as every usage total does.
    await db.reports.prune(before=NOW + 7200)
    kept = await db.reports.usage(since=None, until=NOW + 7200, by="session")
    assert {r.group: r.requests for r in kept.rows} == {"sess-a": 3, "sess-b": 1}


async def _forget_session_usage(location: Path | str) -> None:
    """Make the store look as it did before migration 011: records with sessions, no session sums."""
    store = await open_store(location)
    try:
        await store.records.write_batch(_records())
        pool = getattr(store, "pool", None)
        if pool is not None:
            await pool.execute("DELETE FROM usage_labels_hourly WHERE kind = 'session'")
            await pool.execute("DELETE FROM migrations WHERE name = '011_session_usage'")
    finally:
        await store.close()
    if isinstance(location, Path):
        with sqlite3.connect(location) as raw:
            raw.execute("DELETE FROM usage_labels_hourly WHERE kind = 'session'")
            # Before 011 the labels' trigger was migration 007's, which 011 replaces; 020 then drops
            # it again, as an upgrade from before 011 runs both.
            raw.execute(
                "DELETE FROM migrations WHERE name IN ('011_session_usage', '020_rollups_in_batches')"
            )
            raw.execute(
                "CREATE TRIGGER generations_usage_labels AFTER INSERT ON generations BEGIN SELECT 1; END"
            )


async def _sessions_after_migrating(location: Path | str) -> dict[str, tuple[int, int]]:
    await _forget_session_usage(location)
    store = await open_store(location)  # migrates: 011 again
    try:
        assert "011_session_usage" in await store.schema_version()
        usage = await store.reports.usage(since=None, until=NOW + 7200, by="session")
        await store.records.write_batch([make_record(session_id="sess-b", created_at=NOW + 100, cost_pico=5)])
        after = await store.reports.usage(since=None, until=NOW + 7200, by="session")
    finally:
        await store.close()
    assert {r.group: r.requests for r in after.rows} == {"sess-a": 3, "sess-b": 2}  # still counting
    return {r.group: (r.requests, r.cost_pico) for r in usage.rows}


async def test_sqlite_records_before_the_migration_are_summed_in(home: Path) -> None:
    assert await _sessions_after_migrating(home / "olga.db") == {"sess-a": (3, 600), "sess-b": (1, 0)}


async def test_postgres_records_before_the_migration_are_summed_in(pg_url: str) -> None:
    assert await _sessions_after_migrating(pg_url) == {"sess-a": (3, 600), "sess-b": (1, 0)}


def test_the_cli_reports_sessions_from_postgresql(pg_url_sync: str) -> None:
    async def seed() -> list[GenerationRecord]:
        store = await open_store(pg_url_sync)
        try:
            records = [
                make_record(session_id=s, created_at=time.time() - 60, cost_pico=c)
                for s, c in (("sess-a", 5), ("sess-b", 7), ("sess-a", 11))
            ]
            await store.records.write_batch(records)
            return records
        finally:
            await store.close()

    records = asyncio.run(seed())
    usage = json.loads(olga("--database-url", pg_url_sync, "usage", "--by", "session", "--json").stdout)
    assert [(r["session"], r["requests"]) for r in usage["rows"]] == [("sess-a", 2), ("sess-b", 1)]
    logs = json_array(olga("--database-url", pg_url_sync, "logs", "--session", "sess-a", "--json").stdout)
    assert [line["id"] for line in logs] == [records[0].id, records[2].id]

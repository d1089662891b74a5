"""The reporting queries: right answers, and index walks rather than table scans."""

from __future__ import annotations

import time
from pathlib import Path

import aiosqlite

from olga_cli.store.db import open_store
from olga_cli.store.reports import LogFilter
from tests.cli.seed import make_record, seed

NOW = 1_800_000_000.0  # a fixed instant, 00:00 UTC-aligned hours are computed from it


async def _open(home: Path) -> aiosqlite.Connection:
    return await open_store(home / "olga.db")


async def test_latest_is_newest_n_oldest_first_and_filters_combine(home: Path) -> None:
    records = [
        make_record(
            created_at=NOW + i,
            status=200 if i % 3 else 500,
            key_id="key_a" if i % 2 else "key_b",
            model="openai/gpt-4o-mini" if i < 6 else "mock/echo",
            model_requested="gpt-4o-mini" if i < 6 else "mock/echo",
        )
        for i in range(10)
    ]
    await seed(home, records)
    db = await _open(home)
    try:
        rows = await db.reports.latest(LogFilter(), limit=3)
        assert [r.created_at - NOW for _, r in rows] == [7, 8, 9]
        rows = await db.reports.latest(LogFilter(key_id="key_a"), limit=10)
        assert [r.created_at - NOW for _, r in rows] == [1, 3, 5, 7, 9]
        rows = await db.reports.latest(
            LogFilter(models=("gpt-4o-mini",)), limit=10
        )  # the requested name matches
        assert [r.created_at - NOW for _, r in rows] == [0, 1, 2, 3, 4, 5]
        rows = await db.reports.latest(LogFilter(status=(500, 599)), limit=10)
        assert [r.created_at - NOW for _, r in rows] == [0, 3, 6, 9]
        rows = await db.reports.latest(LogFilter(status=(500, 500), key_id="key_a", since=NOW + 2), limit=10)
        assert [r.created_at - NOW for _, r in rows] == [3, 9]
        assert await db.reports.latest(LogFilter(status=(400, 499)), limit=10) == []
    finally:
        await db.close()


async def test_after_reads_only_past_the_mark_and_applies_filters(home: Path) -> None:
    await seed(home, [make_record(created_at=NOW + i) for i in range(3)])
    db = await _open(home)
    try:
        mark = await db.reports.high_water()
        await seed(home, [make_record(created_at=NOW + 10, key_id="key_x"), make_record(created_at=NOW + 11)])
        top = await db.reports.high_water()
        assert top == mark + 2
        rows = await db.reports.after(LogFilter(key_id="key_x"), after_rowid=mark, up_to=top)
        assert [r.key_id for _, r in rows] == ["key_x"]
        assert await db.reports.after(LogFilter(), after_rowid=top, up_to=top) == []
    finally:
        await db.close()


async def _plans(db: aiosqlite.Connection, statements: list[str]) -> list[str]:
    plans = []
    for sql in statements:
        async with db.conn.execute("EXPLAIN QUERY PLAN " + sql) as cursor:
            plans.append(" | ".join([str(row[3]) async for row in cursor]))
    return plans


async def test_log_and_usage_queries_walk_indexes_never_the_whole_table(home: Path) -> None:
    """The statements the reporting functions really run, checked with EXPLAIN QUERY PLAN."""
    db = await _open(home)
    statements: list[str] = []
    try:
        await db.conn.set_trace_callback(
            lambda sql: statements.append(sql) if "generations" in sql or "usage_hourly" in sql else None
        )
        for filters in (
            LogFilter(),
            LogFilter(since=NOW),
            LogFilter(key_id="k", status=(500, 500)),
            LogFilter(models=("gpt-4o-mini",), since=NOW),
            LogFilter(status=(404, 404), since=NOW),
        ):
            await seed(home, [make_record(status=404), make_record(status=500, key_id="k")])
            await db.reports.latest(filters, limit=50)
            await db.reports.after(filters, after_rowid=1, up_to=100)
        await db.reports.usage(since=NOW - 86400 * 30, until=NOW, by="model")
        await db.conn.set_trace_callback(None)
        statements = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
        plans = await _plans(db, statements)
        assert len(plans) >= 12
        for sql, plan in zip(statements, plans):
            steps = [step.strip() for step in plan.split("|")]
            assert "SCAN generations" not in steps, (sql, plan)  # a bare SCAN reads every row
            if "ORDER BY" in sql:
                assert "TEMP B-TREE FOR ORDER BY" not in plan, (sql, plan)
        assert any("USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)" in p for p in plans)
        assert any("generations_model_created" in p for p in plans)
        assert any("generations_requested_created" in p for p in plans)
        assert any("generations_status_created" in p for p in plans)
        assert any("usage_hourly USING PRIMARY KEY (hour>?)" in p for p in plans)
    finally:
        await db.close()


async def test_usage_sums_exactly_across_the_rollup_and_the_partial_first_hour(home: Path) -> None:
    hour = int(NOW // 3600) * 3600
    records = [
        make_record(created_at=hour - 1800, cost_pico=1, model="openai/gpt-4o-mini"),  # before since
        make_record(created_at=hour - 600, cost_pico=10, model="openai/gpt-4o-mini"),  # partial hour, counted
        make_record(created_at=hour + 5, cost_pico=100, model="openai/gpt-4o-mini", status=429),
        make_record(
            created_at=hour + 7200,
            cost_pico=1000,
            model="anthropic/claude-haiku-4-5",
            provider="anthropic",
            app="my-app",
            team_id="team_1",
        ),
    ]
    await seed(home, records)
    db = await _open(home)
    try:
        report = await db.reports.usage(since=hour - 900, until=hour + 9000, by="model")
        by_group = {r.group: r for r in report.rows}
        assert by_group["openai/gpt-4o-mini"].cost_pico == 110
        assert by_group["openai/gpt-4o-mini"].requests == 2 and by_group["openai/gpt-4o-mini"].errors == 1
        assert by_group["anthropic/claude-haiku-4-5"].cost_pico == 1000
        assert report.rows[0].group == "anthropic/claude-haiku-4-5"  # dearest first
        assert report.totals.cost_pico == 1110 and report.totals.tokens == 3 * 19
        everything = await db.reports.usage(since=None, until=hour + 9000, by="app")
        assert {r.group: r.requests for r in everything.rows} == {"": 3, "my-app": 1}
        days = await db.reports.usage(since=None, until=hour + 9000, by="day")
        assert sum(r.requests for r in days.rows) == 4 and all(len(r.group) == 10 for r in days.rows)
    finally:
        await db.close()


async def test_usage_by_key_names_the_keys(home: Path) -> None:
    from tests.fakes.gateway import mint_key

    row, _ = await mint_key(home, name="laptop")
    await seed(home, [make_record(key_id=row.id, created_at=time.time() - 60)])
    db = await _open(home)
    try:
        report = await db.reports.usage(since=time.time() - 3600, until=time.time(), by="key")
        assert report.names == {row.id: "laptop"} and report.rows[0].requests == 1
    finally:
        await db.close()


async def test_prune_removes_old_records_but_never_the_ledger_or_the_usage_totals(home: Path) -> None:
    old = [
        make_record(created_at=NOW - 86400 * 40 + i, cost_pico=5, request_body="{}", response_body="hi")
        for i in range(5)
    ]
    new = [make_record(created_at=NOW, cost_pico=7, request_body="{}", response_body="hi")]
    await seed(home, old + new)
    db = await _open(home)
    try:
        assert await db.reports.prune(before=NOW - 86400 * 30, bodies_only=True, batch=2) == 5
        rows = await db.reports.latest(LogFilter(), limit=10)
        assert [(r.request_body, r.response_body) for _, r in rows] == [(None, None)] * 5 + [("{}", "hi")]
        assert await db.reports.prune(before=NOW - 86400 * 30, batch=2) == 5
        rows = await db.reports.latest(LogFilter(), limit=10)
        assert len(rows) == 1
        async with db.conn.execute("SELECT COUNT(*), SUM(amount_pico) FROM ledger") as cursor:
            assert tuple(await cursor.fetchone()) == (6, 32)  # type: ignore[arg-type]
        report = await db.reports.usage(since=None, until=NOW, by="model")
        assert report.totals.requests == 6 and report.totals.cost_pico == 32
        spend = await db.reports.spend_by_model("key_test")
        assert spend[0].requests == 1 and spend[0].cost_pico == 7
    finally:
        await db.close()

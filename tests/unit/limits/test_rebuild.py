"""The counters rebuilt from the store at start-up are exactly those the running gateway had."""

from __future__ import annotations

import time
from pathlib import Path

import aiosqlite
import pytest

from olga_cli.gateway.admission import usage_limits as limits_module
from olga_cli.gateway.admission.usage_limits import Demand, Limits
from olga_cli.gateway.admission.windows import WINDOWS, day_of
from olga_cli.store import limits as limit_store
from olga_cli.store.db import open_store
from olga_cli.store.sqlite.connection import migrate
from olga_cli.store.sqlite.limits import SqliteLimits
from olga_cli.store.sqlite.migrations import MIGRATIONS
from tests.unit.limits.builders import key, limit, record, snapshot, team

NOW = 1_795_000_000.0  # 2026-11-18, a Wednesday
DEMAND = Demand(cost=9_000_000, tokens=90, rate_tokens=40)


async def test_usage_minute_and_alerts_survive_a_restart(tmp_path: Path) -> None:
    alice, bob = key("key_a", name="alice", team_id="team_1"), key("key_b", name="bob")
    snap = snapshot([alice, bob], [team()], [limit(1, "team_1", "requests", "monthly", 100, alerts=(1, 50))])
    running = Limits()
    db = await open_store(tmp_path / "olga.db")
    try:
        # Records over three weeks, written as the gateway does; one request is cancelled before its record.
        plan = [
            (alice, NOW - 20 * 86400, True),
            (bob, NOW - 3 * 86400, True),
            (alice, NOW - 86400, False),
            (alice, NOW - 30, True),
            (bob, NOW - 10, True),
            (alice, NOW - 5, False),
            (alice, NOW, True),
        ]
        for index, (state, at, recorded) in enumerate(plan):
            ticket = running.admit(snap, state, DEMAND, now=at)
            if not recorded:
                ticket.release()
                continue
            rec = record(
                state,
                at,
                cost=1_000_000 * (index + 1),
                prompt=10 * index,
                completion=index,
                gen_id=f"gen-{index}",
            )
            await db.records.write_batch([rec], running.settle(ticket, rec).extras)
        rebuilt = Limits()
        await rebuilt.load(db)
        stored_alerts = await db.alerts.list_alerts([("team", "team_1")])
    finally:
        await db.close()

    for scope in (("key", "key_a"), ("key", "key_b"), ("team", "team_1")):
        for window in WINDOWS:
            for metric in ("cost", "requests", "tokens"):
                for at in (NOW, NOW + 86400, NOW + 40 * 86400):
                    day = day_of(at)
                    assert rebuilt.usage(*scope).used(window, day, metric) == running.usage(*scope).used(
                        window, day, metric
                    ), (scope, window, metric, at)
    for key_id in ("key_a", "key_b"):
        before, after = running.rates.minute(key_id, NOW + 1), rebuilt.rates.minute(key_id, NOW + 1)
        assert (after.requests, after.tokens) == (before.requests, before.tokens)
    assert rebuilt.fired == running.fired and rebuilt.fired
    # 1% of the monthly limit was crossed by the first team request in October and again in November.
    assert sorted((a.percent, a.usage, a.generation_id) for a in stored_alerts) == [
        (1, 1, "gen-0"),
        (1, 1, "gen-3"),
    ]
    assert rebuilt.usage("key", "key_a").used("all-time", day_of(NOW), "cost") == (1 + 4 + 7) * 1_000_000
    assert rebuilt.usage("team", "team_1").used("all-time", day_of(NOW), "requests") == 3


async def test_the_migration_counts_the_usage_recorded_before_limits_existed(tmp_path: Path) -> None:
    """Records written before migration 002 count: those that went to a provider, by their key and team."""
    db = await aiosqlite.connect(tmp_path / "olga.db", isolation_level=None)
    try:
        await db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
        first, migration = MIGRATIONS[0]
        await migration(db)
        await db.execute("INSERT INTO migrations VALUES (?, ?)", (first, time.time()))
        # Two records as the first schema held them: one went to a provider, one was refused before.
        for gen_id, at, cost, attempts in (
            ("gen-sent", NOW, 5, '[{"provider": "openai"}]'),
            ("gen-refused", NOW + 1, 0, "[]"),
        ):
            await db.execute(
                "INSERT INTO generations (id, created_at, key_id, key_name, team_id, endpoint, model_requested,"
                " streamed, status, tokens_prompt, tokens_completion, tokens_cached, tokens_cache_write,"
                " usage_estimated, cost_pico, latency_ms, overhead_ms, attempts, guardrails)"
                " VALUES (?, ?, 'key_a', 'alice', 'team_1', '/v1/chat/completions', 'gpt-4o-mini',"
                " 0, 200, 3, 4, 0, 0, 0, ?, 1.0, 0.1, ?, '[]')",
                (gen_id, at, cost, attempts),
            )
        applied = await migrate(db)
        usage = await SqliteLimits(db).usage_by_day()
    finally:
        await db.close()
    assert applied == [name for name, _ in MIGRATIONS[1:]]
    day = day_of(NOW)
    for scope in (("key", "key_a"), ("team", "team_1")):
        assert usage[scope] == {day: limit_store.DayUsage(cost=5, requests=1, tokens=7)}


async def test_old_admissions_are_pruned_while_usage_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits_module, "PRUNE_EVERY", 5)
    alice = key("key_a")
    snap = snapshot([alice])
    running = Limits()
    db = await open_store(tmp_path / "olga.db")
    try:
        for index in range(20):  # one request a minute
            at = NOW + 60 * index
            ticket = running.admit(snap, alice, DEMAND, now=at)
            rec = record(alice, at, cost=1, prompt=1, completion=1, gen_id=f"gen-{index}")
            await db.records.write_batch([rec], running.settle(ticket, rec).extras)
        async with db.conn.execute("SELECT COUNT(*), MIN(at) FROM admissions") as cursor:
            count, oldest = await cursor.fetchone()  # type: ignore[misc]
        rebuilt = Limits()
        await rebuilt.load(db)
    finally:
        await db.close()
    # Pruned at the 5th, 10th, 15th and 20th settlement: at most the last 300 s plus 5 requests remain.
    assert count < 20 and oldest >= NOW + 60 * 19 - 300 - 5 * 60
    assert rebuilt.usage("key", "key_a").used("all-time", day_of(NOW), "requests") == 20
    assert rebuilt.rates.minute("key_a", NOW + 60 * 19).requests == 1

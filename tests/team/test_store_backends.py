"""Both backends behind one interface give the same answers: every concern, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from olga_cli.guardrails.spec import Violation
from olga_cli.records import Attempt
from olga_cli.store.base import Store
from olga_cli.store.db import open_store
from olga_cli.store.generations import response_item_insert
from olga_cli.store.guardrails import violation_insert
from olga_cli.store.limits import AlertRow, DayUsage, admission_insert, admissions_prune, alert_insert
from olga_cli.store.postgres.migrations import MIGRATIONS as PG_MIGRATIONS
from olga_cli.store.provider_health import KeyHealthRow, mark
from olga_cli.store.reports import LogFilter
from olga_cli.store.sqlite.migrations import MIGRATIONS as SQLITE_MIGRATIONS
from tests.cli.seed import make_record

NOW = 1_800_057_600.0  # 2027-01-16 00:00 UTC: on an hour and a day boundary


def test_both_backends_number_their_migrations_the_same() -> None:
    assert [name for name, _ in PG_MIGRATIONS] == [name for name, _ in SQLITE_MIGRATIONS]


async def test_schema_version_lists_every_migration(any_store: Store) -> None:
    assert await any_store.schema_version() == [name for name, _ in SQLITE_MIGRATIONS]


async def test_keys_and_teams(any_store: Store) -> None:
    db = any_store
    team = await db.keys.create_team(name="research", models=("mock/echo",), rate_multiplier=Decimal("1.5"))
    row, plaintext = await db.keys.create_key(name="alice", team_id=team.id, credits_pico=5_000, rpm=60)
    assert plaintext.startswith("sk-olga-") and row.prefix == plaintext[:12]
    assert (await db.keys.get_key("alice")) == row == (await db.keys.get_key(row.id))
    assert row.credits_enabled and row.rpm == 60 and row.team_id == team.id
    await db.keys.update_key(row.id, models=("mock/echo",), disabled=True, rate_multiplier=Decimal("2"))
    updated = await db.keys.get_key(row.id)
    assert updated is not None and updated.disabled and updated.models == ("mock/echo",)
    assert updated.rate_multiplier == Decimal("2")
    with pytest.raises(ValueError, match="hash"):
        await db.keys.update_key(row.id, hash="x")
    assert (await db.keys.get_team("research")) == team and team.rate_multiplier == Decimal("1.5")
    await db.keys.update_team(team.id, name="lab")
    assert [t.name for t in await db.keys.list_teams()] == ["lab"]
    limit = await db.limits.create_limit(
        scope="team", scope_id=team.id, metric="cost", window="daily", threshold=9
    )
    await db.keys.delete_team(team.id)  # its keys stay, teamless; its limits go
    assert await db.keys.get_team(team.id) is None
    assert (await db.keys.get_key_any(row.id)).team_id is None  # type: ignore[union-attr]
    assert await db.limits.get_limit(limit.id) is None
    await db.keys.delete_key(row.id)
    assert await db.keys.get_key("alice") is None and await db.keys.list_keys() == []
    assert [k.id for k in await db.keys.list_keys(include_deleted=True)] == [row.id]
    assert await db.keys.find_key_id("alice") == row.id
    assert (await db.keys.scope_names())[("team", team.id)] == "lab"


async def test_balance_is_credits_minus_ledger(any_store: Store) -> None:
    db = any_store
    row, _ = await db.keys.create_key(name="bob", credits_pico=1_000_000)
    await db.ledger.add_credits(row.id, 500_000, "top-up")
    paid = [
        make_record(key_id=row.id, cost_pico=c, created_at=NOW + i) for i, c in enumerate((7, 0, 300_000))
    ]
    await db.records.write_batch(paid)
    assert await db.ledger.key_totals(row.id) == (1_500_000, 300_007)
    assert await db.ledger.charge_summary(row.id) == (2, 300_007)
    assert [(e.amount_pico, e.note) for e in await db.ledger.credit_history(row.id)] == [
        (1_000_000, "initial credits"),
        (500_000, "top-up"),
    ]
    assert (await db.ledger.credit_totals())[row.id] == 1_500_000
    assert (await db.ledger.spend_totals())[row.id] == 300_007


async def test_a_failing_batch_commits_nothing(any_store: Store) -> None:
    db = any_store
    first = make_record(cost_pico=5)
    await db.records.write_batch([first])
    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):  # the same id twice
        await db.records.write_batch(
            [make_record(cost_pico=9), first],
            [admission_insert(generation_id="g", key_id="key_test", team_id=None, at=NOW, cost=1, tokens=1)],
        )
    assert await db.ledger.key_totals("key_test") == (0, 5)
    assert await db.limits.usage_by_day() == {}


async def test_records_logs_and_usage(any_store: Store) -> None:
    db = any_store
    records = [
        make_record(
            created_at=NOW - 1800 + 600 * i,  # half an hour before NOW up to an hour after
            key_id="key_a" if i % 2 else "key_b",
            status=500 if i == 3 else 200,
            upstream_id=f"chatcmpl-{i}",
            cost_pico=1_000 * (i + 1),
            app="cli" if i < 2 else None,
        )
        for i in range(6)
    ]
    await db.records.write_batch(records[:4])
    mark_ = await db.reports.high_water()
    await db.records.write_batch(records[4:])
    top = await db.reports.high_water()
    got = await db.records.get_generation("chatcmpl-2")
    assert got is not None and got.id == records[2].id and got.attempts == records[2].attempts
    assert await db.records.get_generation(records[2].id, key_id="key_a") is None
    assert [r.id for _, r in await db.records.recent_generations(limit=2)] == [records[4].id, records[5].id]
    assert [r.id for _, r in await db.reports.latest(LogFilter(key_id="key_a"), limit=10)] == [
        records[i].id for i in (1, 3, 5)
    ]
    assert [r.id for _, r in await db.reports.latest(LogFilter(status=(500, 599)), limit=10)] == [
        records[3].id
    ]
    assert [r.id for _, r in await db.reports.latest(LogFilter(models=("gpt-4o-mini",)), limit=1)] == [
        records[5].id
    ]
    assert [r.id for _, r in await db.reports.after(LogFilter(), after_rowid=mark_, up_to=top)] == [
        records[4].id,
        records[5].id,
    ]
    # Since a moment inside the first hour: the partial hour from the records, whole hours from roll-ups.
    usage = await db.reports.usage(since=NOW - 1200, until=NOW + 7200, by="key")
    assert {(r.group, r.requests, r.cost_pico) for r in usage.rows} == {
        ("key_a", 3, 12_000),
        ("key_b", 2, 8_000),
    }
    day = await db.reports.usage(since=None, until=NOW + 7200, by="day")
    assert [(r.group, r.requests, r.errors, r.cost_pico) for r in day.rows] == [
        ("2027-01-15", 3, 0, 6_000),
        ("2027-01-16", 3, 1, 15_000),
    ]
    apps = await db.reports.usage(since=None, until=NOW, by="app")
    assert {(r.group, r.requests) for r in apps.rows} == {("cli", 2), ("", 4)}
    spend = await db.reports.spend_by_model("key_a")
    assert [(s.model, s.requests, s.cost_pico) for s in spend] == [("openai/gpt-4o-mini", 3, 12_000)]
    assert await db.reports.count_before(NOW) == 3
    assert await db.reports.prune(before=NOW, bodies_only=True, batch=2) == 0  # no bodies stored
    assert await db.reports.prune(before=NOW, batch=2) == 3
    assert await db.reports.count_before(NOW + 7200) == 3
    assert (await db.reports.usage(since=None, until=NOW, by="key")).totals.requests == 6  # roll-ups stay


async def test_limits_admissions_and_alerts(any_store: Store) -> None:
    db = any_store
    row, _ = await db.keys.create_key(name="carol")
    team = await db.keys.create_team(name="ops")
    limit = await db.limits.create_limit(
        scope="key", scope_id=row.id, metric="requests", window="daily", threshold=10, alerts=(80, 50, 80)
    )
    assert limit.alerts == (50, 80) and await db.limits.list_limits(scope="key", scope_id=row.id) == [limit]
    day = int(NOW // 86400)
    admitted = [
        admission_insert(generation_id=f"g{i}", key_id=row.id, team_id=team.id, at=NOW + i, cost=10, tokens=3)
        for i in range(3)
    ]
    alert = AlertRow(0, limit.id, "key", row.id, "requests", "daily", day, 50, 10, 5, "g2", NOW)
    await db.records.write_batch([], [*admitted, alert_insert(alert), alert_insert(alert)])
    assert await db.limits.scope_usage_by_day("team", team.id) == {day: DayUsage(30, 3, 9)}
    assert (await db.limits.usage_by_day())[("key", row.id)] == {day: DayUsage(30, 3, 9)}
    assert await db.limits.recent_admissions(1.5) == {row.id: [(NOW + 1, 3), (NOW + 2, 3)]}
    await db.records.write_batch([], [admissions_prune(NOW + 2)])
    assert await db.limits.recent_admissions(60) == {row.id: [(NOW + 2, 3)]}
    assert await db.limits.usage_by_day() != {}  # usage outlives its admissions
    assert await db.alerts.fired_alerts() == {(limit.id, day, 50)}  # raised once
    [stored] = await db.alerts.list_alerts([("key", row.id)])
    assert (stored.percent, stored.usage, stored.generation_id) == (50, 5, "g2")
    assert (
        await db.alerts.alerts_after(after_id=0) == [stored] and await db.alerts.last_alert_id() == stored.id
    )
    assert await db.alerts.list_alerts([]) == []
    await db.limits.remove_limit(limit.id)
    assert await db.limits.list_limits() == []


async def test_guardrails_and_violations(any_store: Store) -> None:
    db = any_store
    row, _ = await db.keys.create_key(name="dave")
    everyone = await db.guardrails.create_guardrail(
        name="pii",
        scope="global",
        scope_id=None,
        type="pii",
        stage="both",
        action="redact",
        entities=["EMAIL"],
    )
    mine = await db.guardrails.create_guardrail(
        name="pii", scope="key", scope_id=row.id, type="secrets", stage="input", action="block", threshold=0.7
    )
    assert [g.id for g in await db.guardrails.find_guardrails("pii")] == [everyone.id, mine.id]
    assert await db.guardrails.list_guardrails(scope="global") == [everyone]
    assert await db.guardrails.list_guardrails(scope="key", scope_id=row.id) == [mine]
    assert mine.threshold == 0.7 and everyone.entities == ("EMAIL",)
    hit = Violation(
        str(everyone.id), "pii", "pii", "input", "EMAIL", "redact", 3, 20, 0.9, "messages[0].content"
    )
    await db.records.write_batch(
        [], [violation_insert(hit, generation_id=f"g{i}", key_id=row.id, at=NOW + i) for i in range(3)]
    )
    assert [v.generation_id for v in await db.guardrails.latest_violations(key_id=row.id, limit=2)] == [
        "g1",
        "g2",
    ]
    newest = await db.guardrails.newest_violation_id()
    later = await db.guardrails.violations_after(newest - 1)
    assert [(v.field, v.start, v.end, v.confidence) for v in later] == [("messages[0].content", 3, 20, 0.9)]
    await db.keys.delete_key(row.id)  # the key's guardrails go with it
    assert await db.guardrails.list_guardrails() == [everyone]
    await db.guardrails.remove_guardrail(everyone.id)
    assert await db.guardrails.get_guardrail(everyone.id) is None


async def test_provider_health_marks_and_resets(any_store: Store) -> None:
    db = any_store
    older = KeyHealthRow("openai", "key-1", "f1", "rate_limited", 429, "slow down", NOW + 30, NOW)
    newer = KeyHealthRow("openai", "key-1", "f1", "invalid", 401, "bad key", None, NOW + 5)
    await db.records.write_batch([], [mark(newer), mark(older)])  # a stale mark never overwrites
    marks, resets = await db.health.load()
    assert marks == [newer] and resets == {}
    await db.health.reset("openai", now=NOW + 10)
    assert await db.health.load() == ([], {"openai": NOW + 10})


async def test_another_connections_commit_changes_the_data_version(any_store: Store, home: Path) -> None:
    db = any_store
    before = await db.data_version()
    location = getattr(db, "url", None) or home / "olga.db"
    other = await open_store(location)
    try:
        await other.keys.create_key(name="erin")
    finally:
        await other.close()
    for _ in range(100):  # a notification takes a moment to arrive; SQLite's count is at once
        if await db.data_version() != before:
            break
        await asyncio.sleep(0.01)
    assert await db.data_version() != before
    assert (await db.keys.get_key("erin")) is not None


async def test_records_keep_every_field(any_store: Store) -> None:
    record = make_record(
        streamed=True,
        error="upstream said no",
        ttft_ms=12.5,
        usage_estimated=True,
        request_body='{"a": 1}',
        response_body="{}",
        guardrails=[{"id": "1"}],
        attempts=[Attempt("openai", "gpt-4o-mini", 429, 3.0, "rate limited", "key-2")],
    )
    await any_store.records.write_batch([record])
    assert await any_store.records.get_generation(record.id) == record


async def test_tags_and_end_users_are_counted_reported_and_filtered_alike(any_store: Store) -> None:
    """Admissions count for tags, end users and end users of a key or team; records sum by tag and
    user for `olga usage` (the partial first hour from the records, whole hours from the roll-up)."""
    db = any_store
    team = await db.keys.create_team(name="lab")
    row, _ = await db.keys.create_key(name="app", team_id=team.id)
    day = int(NOW // 86400)
    plan = [
        (["a", "b"], "ada", NOW - 600),
        (["a"], "ada", NOW + 10),
        ([], "grace", NOW + 20),
        ([], None, NOW + 30),
    ]
    records = [
        make_record(key_id=row.id, team_id=team.id, tags=tags, end_user=user, created_at=at, cost_pico=5)
        for tags, user, at in plan
    ]
    admissions = [
        admission_insert(
            generation_id=r.id,
            key_id=row.id,
            team_id=team.id,
            at=r.created_at,
            cost=5,
            tokens=19,
            tags=r.tags,
            end_user=r.end_user,
        )
        for r in records
    ]
    await db.records.write_batch(records, admissions)
    usage = await db.limits.usage_by_day()
    assert usage[("tag", "a")] == {day - 1: DayUsage(5, 1, 19), day: DayUsage(5, 1, 19)}
    assert usage[("user", "ada")][day] == DayUsage(5, 1, 19)
    assert usage[("key_user", row.id + "\x1fada")][day - 1] == DayUsage(5, 1, 19)
    assert usage[("team_user", team.id + "\x1fgrace")][day] == DayUsage(5, 1, 19)
    per_user = await db.limits.users_usage_by_day("key_user", row.id)
    assert sorted(per_user) == ["ada", "grace"]
    by_tag = await db.reports.usage(since=NOW - 1200, until=NOW + 60, by="tag")
    assert {r.group: r.requests for r in by_tag.rows} == {"a": 2, "b": 1}
    by_user = await db.reports.usage(since=None, until=NOW + 60, by="user")
    assert {r.group: (r.requests, r.cost_pico) for r in by_user.rows} == {"ada": (2, 10), "grace": (1, 5)}
    found = await db.reports.latest(LogFilter(tag="a", end_user="ada"), limit=10)
    assert [r.id for _, r in found] == [records[0].id, records[1].id]
    assert found[0][1].tags == ["a", "b"] and found[0][1].end_user == "ada"
    each = await db.limits.create_limit(
        scope="key_each_user", scope_id=row.id, metric="requests", window="daily", threshold=3
    )
    tag_limit = await db.limits.create_limit(
        scope="tag", scope_id="a", metric="cost", window="daily", threshold=9
    )
    assert {limit.id for limit in await db.limits.list_limits()} == {each.id, tag_limit.id}
    await db.keys.delete_key(row.id)  # a key's per-user limits go with it; a tag's stay
    assert [limit.id for limit in await db.limits.list_limits()] == [tag_limit.id]


async def test_responses_items_are_written_with_their_record_read_by_id_and_pruned(any_store: Store) -> None:
    db = any_store
    old = {
        "id": "msg_old",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "é"}],
    }
    new = {"id": "msg_new", "type": "reasoning", "summary": []}
    await db.records.write_batch(
        [make_record(created_at=NOW - 3600)], [response_item_insert(old, at=NOW - 3600)]
    )
    await db.records.write_batch(
        [make_record(created_at=NOW)], [response_item_insert(new, at=NOW), response_item_insert(new, at=NOW)]
    )
    found = await db.records.response_items(["msg_old", "msg_new", "msg_unknown"])
    assert sorted(found, key=lambda item: item["id"]) == [new, old]  # each once, exactly as made
    await db.reports.prune(before=NOW - 60)
    assert await db.records.response_items(["msg_old", "msg_new"]) == [new]


async def test_records_with_absurd_token_counts_never_cost_the_hours_later_records(any_store: Store) -> None:
    """A provider's absurd usage is stored clamped to 2**63 - 1 tokens; the hour's roll-up then sits
    at the top of its range, and the records that follow in that hour must still be written."""
    db = any_store
    top = 2**63 - 1
    absurd = [make_record(created_at=NOW + i, tokens_prompt=top, tokens_completion=top) for i in range(2)]
    await db.records.write_batch(absurd)  # two in one batch: their sum is past the range already
    later = make_record(created_at=NOW + 10)
    await db.records.write_batch([make_record(created_at=NOW + 5, tokens_prompt=top)])
    await db.records.write_batch([later])
    stored = await db.records.get_generation(later.id)
    assert stored is not None and stored.tokens_prompt == later.tokens_prompt
    assert await db.ledger.key_totals("key_test") == (0, 4 * later.cost_pico)

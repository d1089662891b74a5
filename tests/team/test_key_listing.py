"""`olga keys list` reads every key in a handful of statements, whatever their number, and shows each
key exactly as `olga keys show` does: money, team, usage in each window, limits and latest alerts."""

from __future__ import annotations

from typing import Any

from olga_cli.cli.keys import key_json, keys_json
from olga_cli.gateway.admission.limit_views import stored_report, stored_reports
from olga_cli.store.base import Store
from olga_cli.store.limits import AlertRow, Scope, admission_insert, alert_insert
from olga_cli.store.sqlite.store import SqliteStore

NOW = 1_800_057_600.0  # 2027-01-16 00:00 UTC
DAY = int(NOW // 86400)


async def _seed(db: Store, count: int) -> list[Any]:
    team = await db.keys.create_team(name="ops")
    await db.keys.create_team(name="idle")
    rows = []
    for i in range(count):
        row, _ = await db.keys.create_key(
            name=f"k{i}", team_id=team.id if i % 2 else None, credits_pico=(i + 1) * 10**12
        )
        rows.append(row)
        limit = await db.limits.create_limit(
            scope="key", scope_id=row.id, metric="requests", window="daily", threshold=10, alerts=(10, 50, 90)
        )
        extras = [
            admission_insert(
                generation_id=f"g{i}-{n}", key_id=row.id, team_id=row.team_id, at=NOW, cost=7, tokens=3
            )
            for n in range(i + 1)
        ]
        alerts = [
            AlertRow(0, limit.id, "key", row.id, "requests", "daily", DAY, p, 10, p // 10, None, NOW)
            for p in (10, 50, 90)
        ]
        await db.records.write_batch([], [*extras, *map(alert_insert, alerts)])
    team_limit = await db.limits.create_limit(
        scope="team", scope_id=team.id, metric="cost", window="monthly", threshold=10**12, alerts=(50,)
    )
    alert = AlertRow(
        0, team_limit.id, "team", team.id, "cost", "monthly", DAY, 50, 10**12, 6 * 10**11, None, NOW
    )
    await db.records.write_batch([], [alert_insert(alert)])
    await db.ledger.add_credits(rows[0].id, 3 * 10**12, "more")
    await db.keys.delete_key(rows[-1].id)  # a deleted key is not listed
    return rows


async def test_the_list_shows_each_key_as_show_does(any_store: Store) -> None:
    rows = await _seed(any_store, 4)
    listed = await keys_json(any_store)
    shown = [await key_json(any_store, row) for row in await any_store.keys.list_keys()]
    assert [k["name"] for k in listed] == ["k0", "k1", "k2"]
    for one in (*listed, *shown):
        one["status"] = one["usage"] = None  # time-dependent: the listing and the show run a moment apart
        for limit in one["limits"]:
            limit["resets_at"] = None
    assert listed == shown
    assert listed[0]["balance"] == "4" and listed[1]["team"] == "ops" and len(listed[1]["alerts"]) == 4
    # The newest alerts of a key and its team, cut at the same count either way.
    scopes: list[tuple[Scope, str, str]] = [("key", rows[1].id, "k1"), ("team", rows[1].team_id, "ops")]
    [batched] = await stored_reports(any_store, [scopes], NOW, alerts=2)
    assert batched["alerts"] == (await stored_report(any_store, scopes, NOW, alerts=2))["alerts"]
    assert [a["percent"] for a in batched["alerts"]] == [50, 90]


async def test_the_list_takes_as_many_statements_for_three_keys_as_for_ten(any_store: Store) -> None:
    if not isinstance(any_store, SqliteStore):
        return  # counted on SQLite, whose connection can be traced; the queries are the same in both
    await _seed(any_store, 3)
    counts = []
    for round_ in range(2):
        statements: list[str] = []
        await any_store.conn.set_trace_callback(statements.append)
        await keys_json(any_store)
        await any_store.conn.set_trace_callback(None)
        counts.append(len(statements))
        for i in range(7):
            await any_store.keys.create_key(name=f"more{round_}-{i}", credits_pico=10**12)
    assert counts[0] == counts[1] <= 6

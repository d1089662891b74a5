"""`olga store migrate --to URL`: a laptop's SQLite store becomes the team's PostgreSQL store."""

from __future__ import annotations

import json
from pathlib import Path

from olga_cli.store.db import open_store
from olga_cli.store.generations import response_item_insert
from olga_cli.store.limits import admission_insert
from olga_cli.store.reports import LogFilter
from tests.cli.helpers import olga_async
from tests.cli.seed import make_record

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "clients"


async def test_migrate_copies_everything_and_verifies_counts_and_balances(home: Path, pg_url: str) -> None:
    lite = await open_store(home / "olga.db")
    try:
        team = await lite.keys.create_team(name="research")
        alice, _ = await lite.keys.create_key(name="alice", team_id=team.id, credits_pico=9_000_000)
        bob, bob_key = await lite.keys.create_key(name="bob")
        await lite.ledger.add_credits(alice.id, 1_000_000, "top-up")
        await lite.limits.create_limit(
            scope="team", scope_id=team.id, metric="cost", window="daily", threshold=5
        )
        await lite.guardrails.create_guardrail(
            name="g", scope="global", scope_id=None, type="pii", stage="input", action="block"
        )
        records = [make_record(key_id=alice.id, team_id=team.id, cost_pico=250_000) for _ in range(3)]
        records.append(make_record(key_id=bob.id, cost_pico=0))
        admissions = [
            admission_insert(
                generation_id=r.id, key_id=r.key_id, team_id=r.team_id, at=r.created_at, cost=1, tokens=2
            )
            for r in records
        ]
        item = {"id": "msg_1", "type": "message", "role": "assistant", "content": []}
        await lite.records.write_batch(
            records, [*admissions, response_item_insert(item, at=records[0].created_at)]
        )
        expected_logs = [r.id for _, r in await lite.reports.latest(LogFilter(), limit=10)]
    finally:
        await lite.close()

    result = await olga_async("store", "migrate", "--to", pg_url, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["verified"] and report["keys"] == 2
    assert (
        report["rows"]["generations"] == 4
        and report["rows"]["ledger"] == 3
        and report["rows"]["credits"] == 2
    )
    assert (report["credits"], report["spent"]) == ("0.00001", "0.00000075")

    team_store = await open_store(pg_url)
    try:
        assert await team_store.ledger.key_totals(alice.id) == (10_000_000, 750_000)
        assert [r.id for _, r in await team_store.reports.latest(LogFilter(), limit=10)] == expected_logs
        assert (await team_store.keys.get_key("bob")) == bob  # the key works as it did: same hash
        assert await team_store.records.response_items(["msg_1"]) == [item]  # references resolve there too
        assert (
            len(await team_store.limits.list_limits()) == 1
            and len(await team_store.guardrails.list_guardrails()) == 1
        )
        # team mode's balances start from the copy, and new rows get fresh ids
        await team_store.ledger.add_credits(bob.id, 5, "after the move")
        assert [e.note for e in await team_store.ledger.credit_history(bob.id)] == ["after the move"]
        pool = team_store.pool  # type: ignore[attr-defined]
        row = await pool.fetchrow("SELECT credits, spent, reserved FROM balances WHERE key_id = $1", alice.id)
        assert tuple(row) == (10_000_000, 750_000, 0)
    finally:
        await team_store.close()

    again = await olga_async("store", "migrate", "--to", pg_url)
    assert again.exit_code == 1 and again.stderr.startswith("error: the PostgreSQL store is not empty")
    assert bob_key  # (the plaintext key was shown once, as with any key)


async def test_migrate_names_a_missing_source_and_a_bad_url(home: Path) -> None:
    missing = await olga_async("store", "migrate", "--to", "postgresql://127.0.0.1/x")
    assert missing.exit_code == 1 and missing.stderr.startswith("error: there is no store at")
    bad = await olga_async("store", "migrate", "--to", "sqlite:///tmp/x.db")
    assert bad.exit_code == 1 and bad.stderr.startswith("error: --to takes a postgresql:// URL")


async def test_migrate_joins_shared_body_parts_back_into_each_body(home: Path, pg_url: str) -> None:
    """SQLite stores an agent's resent system prompt and tools once; PostgreSQL gets whole bodies."""
    body = json.dumps(json.loads((FIXTURES / "claude_code_sonnet_turn2.json").read_text())["body"])
    lite = await open_store(home / "olga.db")
    try:
        key, _ = await lite.keys.create_key(name="agent")
        records = [make_record(key_id=key.id, request_body=body) for _ in range(3)]
        await lite.records.write_batch(records)
    finally:
        await lite.close()
    result = await olga_async("store", "migrate", "--to", pg_url)
    assert result.exit_code == 0, result.output
    team_store = await open_store(pg_url)
    try:
        for record in records:
            found = await team_store.records.get_generation(record.id)
            assert found is not None and found.request_body == body
    finally:
        await team_store.close()

"""`olga serve --database-url`: the gateway and every CLI command on one PostgreSQL store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp

from olga_cli.store.db import open_store
from tests.cli.helpers import olga, olga_async
from tests.fakes.gateway import point_openai_at
from tests.fakes.openai_upstream import FakeOpenAI
from tests.team.instances import start_instance

CHAT = {"model": "openai/gpt-4o-mini", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}


async def _post(url: str, key: str) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            url + "/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key}"}
        ) as reply:
            await reply.read()
            return reply


async def _status_within_a_second(url: str, key: str, status: int) -> None:
    for _ in range(20):
        if (await _post(url, key)).status == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not {status} within a second")


async def test_serve_and_cli_share_one_postgres_store(
    home: Path, pg_url: str, fake_openai: FakeOpenAI
) -> None:
    point_openai_at(home, fake_openai.url)
    created = await olga_async(
        "--database-url", pg_url, "keys", "create", "--name", "team", "--credits", "1", "--json"
    )
    assert created.exit_code == 0, created.output
    key = json.loads(created.stdout)["key"]
    assert not (home / "olga.db").exists()  # nothing went to SQLite
    instance = await start_instance(home, pg_url)
    try:
        reply = await _post(instance.url, key)
        assert reply.status == 200
        generation_id = reply.headers["x-olga-generation-id"]
        # A CLI change reaches the running instance within a second, through the store's notifications.
        assert (await olga_async("--database-url", pg_url, "keys", "disable", "team")).exit_code == 0
        await _status_within_a_second(instance.url, key, 401)
        assert (await olga_async("--database-url", pg_url, "keys", "enable", "team")).exit_code == 0
        await _status_within_a_second(instance.url, key, 200)
    finally:
        await instance.stop()
    store = await open_store(pg_url)
    try:
        record = await store.records.get_generation(generation_id)
        assert record is not None and record.status == 200 and record.cost_pico > 0
        row = await store.keys.get_key("team")
        assert row is not None
        credits, spent = await store.ledger.key_totals(row.id)
        assert credits == 10**12 and spent >= record.cost_pico
    finally:
        await store.close()
    shown = await olga_async("--database-url", pg_url, "logs", "--json")
    assert shown.exit_code == 0 and generation_id in shown.stdout


def test_a_bad_database_url_is_one_error_line(home: Path) -> None:
    result = olga("--database-url", "mysql://user:secret@db/olga", "keys", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --database-url") and "secret" not in result.stderr


def test_an_unreachable_database_is_one_error_line(home: Path) -> None:
    result = olga("--database-url", "postgresql://olga:secret@127.0.0.1:1/olga", "keys", "list")
    assert result.exit_code == 1
    assert (
        result.stderr.startswith("error: cannot reach the PostgreSQL store") and "secret" not in result.stderr
    )

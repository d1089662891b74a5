"""/health and `olga doctor` say which store olga uses, whether it answers, and its schema version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp

from olga_cli.store.db import open_store
from olga_cli.store.postgres.migrations import MIGRATIONS as PG_MIGRATIONS
from olga_cli.store.sqlite.migrations import MIGRATIONS as SQLITE_MIGRATIONS
from tests.cli.helpers import olga_async
from tests.fakes.gateway import RunningGateway
from tests.team.instances import start_instance


async def _health(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(url + "/health") as reply:
        return reply.status, await reply.json()


async def test_health_names_the_sqlite_store_and_its_schema(gateway: RunningGateway) -> None:
    status, body = await _health(gateway.url)
    assert status == 200 and body["status"] == "ok"
    assert body["store"] == {"backend": "sqlite", "ok": True, "schema": SQLITE_MIGRATIONS[-1][0]}


async def test_health_names_the_postgres_store_and_its_schema(home: Path, pg_url: str) -> None:
    instance = await start_instance(home, pg_url)
    try:
        status, body = await _health(instance.url)
    finally:
        await instance.stop()
    assert status == 200 and body["store"] == {
        "backend": "postgresql",
        "ok": True,
        "schema": PG_MIGRATIONS[-1][0],
    }


async def _doctor(*args: str) -> tuple[int, dict[str, Any]]:
    result = await olga_async(*args, "doctor", "--json")
    checks = json.loads(result.stdout)
    rows = checks["checks"] if isinstance(checks, dict) else checks
    return result.exit_code, {row["name"]: row for row in rows}


async def test_doctor_checks_the_postgres_store_and_its_schema(home: Path, pg_url: str) -> None:
    _, checks = await _doctor("--database-url", pg_url)
    assert checks["schema"]["status"] == "warn"  # nothing migrated yet: the first command will
    store = await open_store(pg_url)
    await store.close()
    _, checks = await _doctor("--database-url", pg_url)
    assert checks["store"]["status"] == "pass" and "PostgreSQL" in checks["store"]["detail"]
    assert checks["schema"]["status"] == "pass" and PG_MIGRATIONS[-1][0] in checks["schema"]["detail"]
    code, checks = await _doctor("--database-url", "postgresql://olga:secret@127.0.0.1:1/olga")
    assert code == 1 and checks["store"]["status"] == "fail"
    assert "cannot reach" in checks["store"]["detail"] and "secret" not in json.dumps(checks)


async def test_health_and_doctor_say_whether_redis_answers(home: Path, pg_url: str, redis_url: str) -> None:
    instance = await start_instance(home, pg_url, redis_url=redis_url)
    try:
        status, body = await _health(instance.url)
    finally:
        await instance.stop()
    assert status == 200 and body["redis"]["ok"] is True and "olga-t-" in body["redis"]["where"]
    code, checks = await _doctor("--database-url", pg_url, "--redis-url", redis_url)
    assert checks["redis"]["status"] == "pass" and "answers" in checks["redis"]["detail"]
    _, checks = await _doctor("--database-url", pg_url, "--redis-url", "redis://:secret@127.0.0.1:1/0")
    assert checks["redis"]["status"] == "warn" and "secret" not in json.dumps(checks)
    code, checks = await _doctor("--redis-url", redis_url)
    assert code == 1 and checks["redis"]["status"] == "fail"

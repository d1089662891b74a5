"""Team mode against real servers: PostgreSQL from OLGA_TEST_DATABASE_URL, Redis from OLGA_TEST_REDIS_URL.

Each test gets a schema of its own (dropped afterwards) and a Redis key prefix of its own. Where a
variable is unset or its server unreachable, the tests that need it are skipped and say which and why
(``-rs`` lists the reasons); .ci/run points both at the local servers.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from olga_cli.store.base import Store
from olga_cli.store.db import open_store


def _database_url() -> str:
    url = os.environ.get("OLGA_TEST_DATABASE_URL")
    if not url:
        pytest.skip(
            "PostgreSQL tests skipped: OLGA_TEST_DATABASE_URL is not set (e.g. postgresql://127.0.0.1/test)"
        )
    return url


async def _admin(url: str):  # type: ignore[no-untyped-def]
    import asyncpg

    try:
        return await asyncpg.connect(url, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL tests skipped: cannot reach OLGA_TEST_DATABASE_URL ({exc})")


def with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A postgresql:// URL on a fresh schema, dropped after the test."""
    url = _database_url()
    schema = "olga_t_" + secrets.token_hex(6)
    admin = await _admin(url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_schema(url, schema)
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


@pytest.fixture
def pg_url_sync() -> Iterator[str]:
    """``pg_url`` for synchronous tests (the CLI runs its own event loop)."""
    url = _database_url()
    schema = "olga_t_" + secrets.token_hex(6)

    async def run(sql: str) -> None:
        admin = await _admin(url)
        try:
            await admin.execute(sql)
        finally:
            await admin.close()

    asyncio.run(run(f"CREATE SCHEMA {schema}"))
    try:
        yield with_schema(url, schema)
    finally:
        asyncio.run(run(f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture(params=["sqlite", "postgres"])
async def any_store(request: pytest.FixtureRequest, home: Path) -> AsyncIterator[Store]:
    """The same test on both backends."""
    if request.param == "sqlite":
        store = await open_store(home / "olga.db")
        try:
            yield store
        finally:
            await store.close()
        return
    url = _database_url()
    schema = "olga_t_" + secrets.token_hex(6)
    admin = await _admin(url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    try:
        store = await open_store(with_schema(url, schema))
        try:
            yield store
        finally:
            await store.close()
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()

"""Team mode against real servers: PostgreSQL from OLGA_TEST_DATABASE_URL, Redis from OLGA_TEST_REDIS_URL.

Each test gets a schema of its own (dropped afterwards) and a Redis key prefix of its own. Where a
variable is unset or its server unreachable, the tests that need it are skipped and say which and why
(``-rs`` lists the reasons); .ci/run points both at the local servers.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
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


def _redis_url() -> str:
    url = os.environ.get("OLGA_TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis tests skipped: OLGA_TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379)")
    return url


def with_prefix(url: str, prefix: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}prefix={prefix}"


async def counting_for_a_minute(url: str) -> None:
    """Tell olga this Redis has counted every request for a minute already (a fresh prefix would
    otherwise have each instance check rate limits in PostgreSQL too for its first minute)."""
    import redis.asyncio as redis

    from olga_cli.store.redis.link import split_url

    client_url, prefix = split_url(url)
    client = redis.Redis.from_url(client_url)
    try:
        await client.set(prefix + "rates-since", repr(time.time() - 61))
    finally:
        await client.aclose()


@asynccontextmanager
async def redis_prefix() -> AsyncIterator[str]:
    """A redis:// URL of the shared test server with a key prefix of its own, whose keys are deleted
    afterwards."""
    import redis.asyncio as redis

    url = _redis_url()
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as exc:
        await client.aclose()
        pytest.skip(f"Redis tests skipped: cannot reach OLGA_TEST_REDIS_URL ({exc})")
    prefix = "olga-t-" + secrets.token_hex(6) + ":"
    try:
        yield with_prefix(url, prefix)
    finally:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    async with redis_prefix() as url:
        yield url


class OwnRedis:
    """A redis-server of the test's own on a free port, to stop and start again (an outage)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: asyncio.subprocess.Process | None = None
        self.url = with_prefix(f"redis://127.0.0.1:{port}/0", "olga-own:")

    async def start(self) -> None:
        import redis.asyncio as redis

        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = await asyncio.create_subprocess_exec(
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        try:
            for _ in range(100):
                try:
                    await client.ping()
                    return
                except (OSError, redis.RedisError):
                    await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        raise AssertionError("redis-server did not start")

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@pytest.fixture
async def own_redis() -> AsyncIterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("Redis outage tests skipped: no redis-server binary on PATH to start and stop")
    from tests.server.test_process import free_port

    server = OwnRedis(free_port())
    await server.start()
    try:
        yield server
    finally:
        await server.kill()

"""Team mode with Redis: real `olga serve` instances share one Redis (a key prefix per test) beside
one PostgreSQL. Rate limits are counted there, a provider key resting after a 429 on one instance is
not used by another, a breaker opened on one is open on all; and a Redis outage admits nothing
unchecked: the rate limits are counted in PostgreSQL until Redis is back."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import redis.asyncio as redis

from olga_cli.store.db import open_store
from olga_cli.store.redis.link import split_url
from tests.fakes.gateway import configure, point_openai_at
from tests.fakes.openai_upstream import FakeOpenAI, Script, error_body
from tests.team.conftest import OwnRedis, counting_for_a_minute
from tests.team.instances import Instance, start_instance
from tests.team.test_instances import burst, stop_all


async def instances(home: Path, pg_url: str, redis_url: str, count: int = 3) -> list[Instance]:
    return list(
        await asyncio.gather(*(start_instance(home, pg_url, redis_url=redis_url) for _ in range(count)))
    )


async def paced_key(pg_url: str, rpm: int) -> tuple[str, str]:
    store = await open_store(pg_url)
    try:
        row, key = await store.keys.create_key(name="paced", rpm=rpm)
        return row.id, key
    finally:
        await store.close()


def client_of(url: str) -> tuple[redis.Redis, str]:
    client_url, prefix = split_url(url)
    return redis.Redis.from_url(client_url, decode_responses=True), prefix


async def test_redis_counts_the_rate_limit_of_every_instance(
    home: Path, pg_url: str, redis_url: str, fake_openai: FakeOpenAI
) -> None:
    """The key's minute already holds 50 requests in Redis that PostgreSQL knows nothing of: of 300
    requests over three instances exactly 10 more are admitted, so Redis alone decided."""
    point_openai_at(home, fake_openai.url)
    await counting_for_a_minute(redis_url)
    key_id, key = await paced_key(pg_url, rpm=60)
    client, prefix = client_of(redis_url)
    try:
        now = time.time()
        await client.zadd(prefix + f"rate:{key_id}", {f"earlier-{i}": now - 30 for i in range(50)})
        await client.hset(prefix + f"rate-tokens:{key_id}", mapping={f"earlier-{i}": 1 for i in range(50)})
        running = await instances(home, pg_url, redis_url)
        try:
            assert await burst(running, key) == Counter({200: 10, 429: 290})
        finally:
            await stop_all(running)
        assert await client.zcard(prefix + f"rate:{key_id}") == 60
    finally:
        await client.aclose()


async def test_a_key_resting_after_a_429_on_one_instance_is_not_used_by_another(
    home: Path, pg_url: str, redis_url: str, fake_openai: FakeOpenAI
) -> None:
    point_openai_at(home, fake_openai.url, api_keys=["sk-upstream-second-key"])
    _, key = await paced_key(pg_url, rpm=1000)
    running = await instances(home, pg_url, redis_url)
    try:
        rate_limited = error_body("Rate limit reached", "requests", "rate_limit_exceeded")
        fake_openai.script(Script(status=429, body=rate_limited, headers={"retry-after": "30"}))
        assert await burst(running[:1], key, 1) == Counter({200: 1})  # key-1 got the 429, key-2 served
        sent = len(fake_openai.requests)
        assert await burst(running[1:], key, 10) == Counter({200: 10})
        used = Counter(r.headers["Authorization"] for r in fake_openai.requests[sent:])
        assert used == Counter({"Bearer sk-upstream-second-key": 10})  # key-1 rests for every instance
    finally:
        await stop_all(running)


async def test_a_breaker_opened_on_one_instance_is_open_on_all(
    home: Path, pg_url: str, redis_url: str, fake_openai: FakeOpenAI
) -> None:
    point_openai_at(home, fake_openai.url, max_retries=0)
    configure(home, resilience={"breaker_threshold": 2, "breaker_cooldown": 60})
    store = await open_store(pg_url)
    try:
        keys = [(await store.keys.create_key(name=f"caller-{i}"))[1] for i in range(3)]
    finally:
        await store.close()
    running = await instances(home, pg_url, redis_url, 2)
    try:
        broken = error_body("The server had an error", "server_error")
        fake_openai.script(Script(status=500, body=broken), Script(status=500, body=broken))
        for key in keys[:2]:  # two callers' failures in a row open the provider's shared circuit
            assert await burst(running[:1], key, 1) == Counter({502: 1})
        sent = len(fake_openai.requests)
        assert await burst(running[1:], keys[2], 3) == Counter({503: 3})  # skipped on the other instance
        assert len(fake_openai.requests) == sent
    finally:
        await stop_all(running)


async def test_a_redis_outage_admits_nothing_unchecked_and_its_end_is_noticed(
    home: Path, pg_url: str, own_redis: OwnRedis, fake_openai: FakeOpenAI
) -> None:
    """--rpm 40 over two instances: 10 requests through Redis; Redis killed: of 45 more, exactly 30
    (PostgreSQL counts the 10 before); Redis back, empty: of 30 more, none; a key without rate limits
    is served all along."""
    point_openai_at(home, fake_openai.url)
    await counting_for_a_minute(own_redis.url)
    _, key = await paced_key(pg_url, rpm=40)
    store = await open_store(pg_url)
    try:
        _, free = await store.keys.create_key(name="unpaced")
    finally:
        await store.close()
    running = await instances(home, pg_url, own_redis.url, 2)
    try:
        assert await burst(running, key, 10) == Counter({200: 10})
        await own_redis.kill()
        assert await burst(running, key, 45) == Counter({200: 30, 429: 15})
        assert await burst(running, free, 10) == Counter({200: 10})
        await own_redis.start()
        await asyncio.sleep(1.5)  # both instances notice it is back
        assert await burst(running, key, 30) == Counter({429: 30})
        assert await burst(running, free, 10) == Counter({200: 10})
    finally:
        await stop_all(running)


async def test_redis_back_with_its_old_minutes_does_not_forget_what_was_admitted_meanwhile(
    home: Path, pg_url: str, own_redis: OwnRedis, fake_openai: FakeOpenAI
) -> None:
    """Redis cut off from the instances (a password set, their connections dropped) but keeping its
    data: the 20 admitted meanwhile through PostgreSQL are missing from its minute. Once it answers
    again, every instance also checks PostgreSQL for a minute: of 30 more requests, exactly 10 pass
    (Redis alone would let all 30 through)."""
    point_openai_at(home, fake_openai.url)
    await counting_for_a_minute(own_redis.url)
    _, key = await paced_key(pg_url, rpm=40)
    running = await instances(home, pg_url, own_redis.url, 2)
    admin = redis.Redis(port=own_redis.port)
    try:
        assert await burst(running, key, 10) == Counter({200: 10})
        await admin.config_set("requirepass", "cut-off")
        await admin.client_kill_filter(_type="normal", skipme=True)
        assert await burst(running, key, 20) == Counter({200: 20})
        await admin.config_set("requirepass", "")
        await asyncio.sleep(1.5)  # both instances notice it is back
        assert await burst(running, key, 30) == Counter({200: 10, 429: 20})
    finally:
        await admin.aclose()
        await stop_all(running)

"""Three `olga serve` instances on one PostgreSQL behave as one: credits, a team's daily budget and
--rpm hold exactly under 300 concurrent requests, and a killed instance's hold comes back by itself.
The exactness tests run twice: on PostgreSQL alone, and with Redis counting the rate limits."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from olga_cli import jsonwire
from olga_cli.catalog import load_catalog
from olga_cli.store.base import Store
from olga_cli.store.db import open_store
from tests.fakes.gateway import point_openai_at
from tests.fakes.openai_upstream import FakeOpenAI, Script
from tests.team.conftest import counting_for_a_minute, redis_prefix
from tests.team.instances import Instance, start_instance

MAX_TOKENS = 20
BODY = jsonwire.dumps(
    {"model": "openai/gpt-4o-mini", "max_tokens": MAX_TOKENS, "messages": [{"role": "user", "content": "hi"}]}
)


def worst_case(home: Path) -> int:
    """What one request may cost at most, and (with the fake's usage set to it) what it costs."""
    entry = load_catalog(home).resolve("openai/gpt-4o-mini")
    assert entry is not None
    return entry.worst_case_pico(len(BODY), MAX_TOKENS, rate_multiplier=Decimal(1))


@pytest.fixture
def upstream_at_worst_case(home: Path, fake_openai: FakeOpenAI) -> FakeOpenAI:
    """Every answer uses exactly the request's worst case: the whole input bound and max_tokens."""
    point_openai_at(home, fake_openai.url)
    fake_openai.usage = {
        "prompt_tokens": len(BODY),
        "completion_tokens": MAX_TOKENS,
        "total_tokens": len(BODY) + MAX_TOKENS,
    }
    return fake_openai


@pytest.fixture(params=["postgresql", "postgresql+redis"])
async def redis(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    """None (PostgreSQL alone), or a Redis that has counted for a minute already."""
    if request.param == "postgresql":
        yield None
        return
    async with redis_prefix() as url:
        await counting_for_a_minute(url)
        yield url


async def three(home: Path, pg_url: str, redis: str | None = None) -> list[Instance]:
    return list(await asyncio.gather(*(start_instance(home, pg_url, redis_url=redis) for _ in range(3))))


async def burst(
    instances: list[Instance], key: str, count: int = 300, headers: dict[str, str] | None = None
) -> Counter[int]:
    """``count`` requests at once, spread evenly over the instances; the statuses they got."""
    connector = aiohttp.TCPConnector(limit=count)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=120)
    ) as session:

        async def one(index: int) -> int:
            async with session.post(
                instances[index % len(instances)].url + "/v1/chat/completions",
                data=BODY,
                headers={
                    "Authorization": f"Bearer {key}",
                    "Content-Type": "application/json",
                    **(headers or {}),
                },
            ) as reply:
                await reply.read()
                return reply.status

        return Counter(await asyncio.gather(*(one(i) for i in range(count))))


async def shared_state(store: Store, key_id: str) -> tuple[int, int, int, int]:
    """(credits, spent, reserved, holds) as the store has them."""
    pool = store.pool  # type: ignore[attr-defined]
    row = await pool.fetchrow("SELECT credits, spent, reserved FROM balances WHERE key_id = $1", key_id)
    holds = await pool.fetchval("SELECT COUNT(*) FROM holds")
    return int(row["credits"]), int(row["spent"]), int(row["reserved"]), int(holds)


async def stop_all(instances: list[Instance]) -> None:
    await asyncio.gather(*(instance.stop() for instance in instances))


async def test_credits_for_ten_requests_serve_exactly_ten_across_three_instances(
    home: Path, pg_url: str, upstream_at_worst_case: FakeOpenAI, redis: str | None
) -> None:
    worst = worst_case(home)
    store = await open_store(pg_url)
    try:
        row, key = await store.keys.create_key(name="shared", credits_pico=10 * worst)
        instances = await three(home, pg_url, redis)
        try:
            statuses = await burst(instances, key)
        finally:
            await stop_all(instances)
        assert statuses == Counter({200: 10, 402: 290})
        assert await store.ledger.key_totals(row.id) == (10 * worst, 10 * worst)  # balance exactly 0
        assert await shared_state(store, row.id) == (10 * worst, 10 * worst, 0, 0)
        assert await store.ledger.charge_summary(row.id) == (10, 10 * worst)
    finally:
        await store.close()


async def test_a_team_daily_cost_limit_holds_across_three_instances(
    home: Path, pg_url: str, upstream_at_worst_case: FakeOpenAI, redis: str | None
) -> None:
    worst = worst_case(home)
    store = await open_store(pg_url)
    try:
        team = await store.keys.create_team(name="research")
        await store.limits.create_limit(
            scope="team", scope_id=team.id, metric="cost", window="daily", threshold=10 * worst
        )
        keys = [(await store.keys.create_key(name=f"member-{i}", team_id=team.id))[1] for i in range(3)]
        instances = await three(home, pg_url, redis)
        try:
            results = await asyncio.gather(*(burst(instances, key, 100) for key in keys))
        finally:
            await stop_all(instances)
        statuses = sum(results, Counter())
        assert statuses == Counter({200: 10, 429: 290})
        assert (await store.reports.usage(since=None, until=2e9, by="team")).totals.cost_pico == 10 * worst
    finally:
        await store.close()


async def test_a_tag_budget_and_each_end_users_budget_hold_across_three_instances(
    home: Path, pg_url: str, upstream_at_worst_case: FakeOpenAI, redis: str | None
) -> None:
    """Requests of three keys share the tag 'nightly' (its daily budget: 10 requests); requests of one
    key name three end users, each capped at 4 a day: the store's holds count them on every instance."""
    store = await open_store(pg_url)
    try:
        await store.limits.create_limit(
            scope="tag", scope_id="nightly", metric="requests", window="daily", threshold=10
        )
        keys = [(await store.keys.create_key(name=f"eval-{i}"))[1] for i in range(3)]
        app, app_key = await store.keys.create_key(name="app")
        await store.limits.create_limit(
            scope="key_each_user", scope_id=app.id, metric="requests", window="daily", threshold=4
        )
        instances = await three(home, pg_url, redis)
        try:
            tagged = await asyncio.gather(
                *(burst(instances, key, 60, {"x-olga-tags": "nightly"}) for key in keys)
            )
            users = await asyncio.gather(
                *(burst(instances, app_key, 60, {"x-olga-user": user}) for user in ("ada", "grace", "linus"))
            )
        finally:
            await stop_all(instances)
        assert sum(tagged, Counter()) == Counter({200: 10, 429: 170})
        assert [result[200] for result in users] == [4, 4, 4]
        tags = await store.reports.usage(since=None, until=2e9, by="tag")
        # Every request is recorded (refusals too); only the ten admitted ones cost anything.
        assert {row.group: (row.requests, row.errors) for row in tags.rows} == {"nightly": (180, 170)}
        assert tags.totals.cost_pico == 10 * worst_case(home)
    finally:
        await store.close()


async def test_rpm_60_admits_exactly_60_in_the_minute_across_three_instances(
    home: Path, pg_url: str, fake_openai: FakeOpenAI, redis: str | None
) -> None:
    point_openai_at(home, fake_openai.url)
    store = await open_store(pg_url)
    try:
        _, key = await store.keys.create_key(name="paced", rpm=60)
    finally:
        await store.close()
    instances = await three(home, pg_url, redis)
    try:
        statuses = await burst(instances, key)
    finally:
        await stop_all(instances)
    assert statuses == Counter({200: 60, 429: 240})


async def test_an_instance_killed_mid_request_keeps_its_records_and_its_hold_comes_back(
    home: Path, pg_url: str, upstream_at_worst_case: FakeOpenAI
) -> None:
    worst = worst_case(home)
    store = await open_store(pg_url)
    try:
        row, key = await store.keys.create_key(name="doomed", credits_pico=5 * worst)
        doomed, survivor = await asyncio.gather(start_instance(home, pg_url), start_instance(home, pg_url))
        try:
            assert await burst([doomed], key, 2) == Counter({200: 2})  # committed before the kill
            upstream_at_worst_case.script(Script(hang=True))
            async with aiohttp.ClientSession() as session:
                request = asyncio.create_task(
                    session.post(
                        doomed.url + "/v1/chat/completions",
                        data=BODY,
                        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                    )
                )
                for _ in range(200):  # the request holds its worst case in the store
                    if (await shared_state(store, row.id))[2] == worst:
                        break
                    await asyncio.sleep(0.05)
                assert await shared_state(store, row.id) == (5 * worst, 2 * worst, worst, 1)
                await doomed.stop(signal.SIGKILL)
                with pytest.raises(aiohttp.ClientError):
                    await request
            for _ in range(200):  # the survivor frees the hold once the lease (5 s) runs out
                if (await shared_state(store, row.id))[2] == 0:
                    break
                await asyncio.sleep(0.1)
            assert await shared_state(store, row.id) == (5 * worst, 2 * worst, 0, 0)
            assert await store.ledger.charge_summary(row.id) == (2, 2 * worst)
            # and the money is spendable again, on the instance that is left
            assert await burst([survivor], key, 4) == Counter({200: 3, 402: 1})
        finally:
            await stop_all([doomed, survivor])
    finally:
        await store.close()


async def test_a_cli_change_reaches_every_instance_within_a_second(
    home: Path, pg_url: str, fake_openai: FakeOpenAI
) -> None:
    """Probes leave every 50 ms for 1.5 s, without waiting for each other: each one sent a second or
    more after the change must be refused. A probe's send time bounds its arrival from below, so a
    slow answer on a loaded machine cannot hide a late change, nor blame the instance for its wait."""
    point_openai_at(home, fake_openai.url)
    store = await open_store(pg_url)
    try:
        _, key = await store.keys.create_key(name="switch")
        instances = await three(home, pg_url)
        try:
            assert await burst(instances, key, 3) == Counter({200: 3})
            await store.keys.update_key((await store.keys.get_key("switch")).id, disabled=True)  # type: ignore[union-attr]
            changed = asyncio.get_running_loop().time()
            probes = await asyncio.gather(*(paced_probes(instance, key, changed) for instance in instances))
            for instance, sent in zip(instances, probes, strict=True):
                late = [status for at, status in sent if at - changed >= 1.0]
                assert late and set(late) == {401}, (instance.url, sent)
        finally:
            await stop_all(instances)
    finally:
        await store.close()


async def paced_probes(
    instance: Instance, key: str, since: float, *, every: float = 0.05, until: float = 1.5
) -> list[tuple[float, int]]:
    """(send time, status) of a request to ``instance`` sent every ``every`` s up to ``until`` s after
    ``since``, each on its own connection, none waiting for another."""
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, force_close=True), timeout=aiohttp.ClientTimeout(total=60)
    ) as session:

        async def one() -> tuple[float, int]:
            sent = loop.time()
            async with session.post(
                instance.url + "/v1/chat/completions",
                data=BODY,
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            ) as reply:
                await reply.read()
                return sent, reply.status

        probes = []
        while loop.time() - since < until:
            probes.append(asyncio.create_task(one()))
            await asyncio.sleep(every)
        return list(await asyncio.gather(*probes))

"""`GET /v1/key` in team mode reads the key's money from the shared store: a request in flight on
another instance shows in ``reserved``, what every instance charged in ``spent`` and ``balance``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from olga_cli.money import pico_to_usd
from olga_cli.store.db import open_store
from tests.fakes.openai_upstream import FakeOpenAI, Script
from tests.team.instances import start_instance
from tests.team.test_instances import (
    BODY,
    burst,
    redis,
    shared_state,
    stop_all,
    upstream_at_worst_case,
    worst_case,
)

__all__ = ["redis", "upstream_at_worst_case"]  # the fixtures, used by name


async def key_view(url: str, key: str) -> dict[str, object]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "/v1/key", headers={"Authorization": f"Bearer {key}"}) as reply:
            assert reply.status == 200, await reply.text()
            data: dict[str, object] = (await reply.json())["data"]
            return data


async def test_the_key_view_counts_what_every_instance_holds_and_charged(
    home: Path, pg_url: str, upstream_at_worst_case: FakeOpenAI
) -> None:
    worst = worst_case(home)
    store = await open_store(pg_url)
    try:
        row, key = await store.keys.create_key(name="watched", credits_pico=10 * worst)
        here, there = await asyncio.gather(start_instance(home, pg_url), start_instance(home, pg_url))
        try:
            assert await burst([there], key, 2) == {200: 2}
            upstream_at_worst_case.script(Script(hang=True))
            async with aiohttp.ClientSession() as session:
                pending = asyncio.create_task(
                    session.post(
                        there.url + "/v1/chat/completions",
                        data=BODY,
                        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                    )
                )
                for _ in range(200):  # the request on the other instance holds its worst case
                    if (await shared_state(store, row.id))[2] == worst:
                        break
                    await asyncio.sleep(0.05)
                view = await key_view(here.url, key)
                pending.cancel()
        finally:
            await stop_all([here, there])
        assert view["credits"] == pico_to_usd(10 * worst)
        assert view["spent"] == pico_to_usd(2 * worst)
        assert view["balance"] == pico_to_usd(8 * worst)
        assert view["reserved"] == pico_to_usd(worst)
    finally:
        await store.close()


async def test_the_key_view_counts_every_instances_usage_limits_and_minute(
    home: Path, pg_url: str, upstream_at_worst_case: FakeOpenAI, redis: str | None
) -> None:
    """Usage in each window, each limit's usage and in-flight amount and the --rpm minute, as one
    instance on SQLite would show them: here, an instance that served none of the key's requests."""
    worst = worst_case(home)
    store = await open_store(pg_url)
    try:
        team = await store.keys.create_team(name="ops")
        row, key = await store.keys.create_key(name="watched", team_id=team.id, rpm=50, tpm=100_000)
        await store.limits.create_limit(
            scope="key", scope_id=row.id, metric="requests", window="daily", threshold=100
        )
        await store.limits.create_limit(
            scope="team", scope_id=team.id, metric="cost", window="monthly", threshold=1000 * worst
        )
        here, there = await asyncio.gather(
            start_instance(home, pg_url, redis_url=redis), start_instance(home, pg_url, redis_url=redis)
        )
        try:
            assert await burst([there], key, 6) == {200: 6}
            for _ in range(200):  # every record committed: nothing held any more
                if (await shared_state(store, row.id))[3] == 0:
                    break
                await asyncio.sleep(0.05)
            upstream_at_worst_case.script(Script(hang=True))
            async with aiohttp.ClientSession() as session:
                pending = asyncio.create_task(
                    session.post(
                        there.url + "/v1/chat/completions",
                        data=BODY,
                        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                    )
                )
                for _ in range(200):
                    if (await shared_state(store, row.id))[3] == 1:
                        break
                    await asyncio.sleep(0.05)
                view = await key_view(here.url, key)
                pending.cancel()
        finally:
            await stop_all([here, there])
    finally:
        await store.close()
    tokens = 6 * (len(BODY) + 20)
    assert view["usage"]["daily"] == {  # type: ignore[index]
        **view["usage"]["daily"],  # type: ignore[index]
        "spend": pico_to_usd(6 * worst),
        "requests": 6,
        "tokens": tokens,
    }
    requests, cost = view["limits"]  # type: ignore[misc]
    assert (requests["usage"], requests["in_flight"], requests["remaining"]) == (6, 1, 93)
    assert (cost["scope"], cost["usage"], cost["in_flight"]) == (
        "team",
        pico_to_usd(6 * worst),
        pico_to_usd(worst),
    )
    rates = view["rate_limits"]
    assert rates["requests"]["remaining"] == 50 - 7  # type: ignore[index]
    assert rates["tokens"]["remaining"] < 100_000 - tokens  # type: ignore[index]

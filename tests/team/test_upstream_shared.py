"""Team mode on PostgreSQL alone (no Redis): a provider key's strikes, the 429s in a row that double
its rest, count across instances as on one instance, and end for all when the key answers again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from olga_cli.store.base import Store
from olga_cli.store.db import open_store
from tests.fakes.gateway import configure, point_openai_at
from tests.fakes.openai_upstream import FakeOpenAI, Script, error_body
from tests.team.instances import start_instance
from tests.team.test_instances import burst, stop_all


async def _mark(store: Store) -> tuple[int, float]:
    """(strikes, length of the rest) of the provider key's mark as the store has it."""
    pool = store.pool  # type: ignore[attr-defined]
    row = await pool.fetchrow("SELECT strikes, until, updated_at FROM provider_health WHERE key_label != '*'")
    return int(row["strikes"]), round(float(row["until"]) - float(row["updated_at"]), 3)


async def test_a_keys_backoff_doubles_across_instances_and_resets_for_all(
    home: Path, pg_url: str, fake_openai: FakeOpenAI
) -> None:
    point_openai_at(home, fake_openai.url, max_retries=0)
    configure(home, resilience={"key_rest": 1.0, "key_rest_max": 60.0})
    store = await open_store(pg_url)
    try:
        _, key = await store.keys.create_key(name="caller")
        first, second = await asyncio.gather(start_instance(home, pg_url), start_instance(home, pg_url))
        try:
            slow_down = error_body("Rate limit reached", "requests", "rate_limit_exceeded")
            fake_openai.script(Script(status=429, body=slow_down))  # no retry-after: olga's backoff
            await burst([first], key, 1)
            assert await _mark(store) == (1, 1.0)
            await asyncio.sleep(1.5)  # the rest is over, and the other instance has heard of it
            fake_openai.script(Script(status=429, body=slow_down))
            await burst([second], key, 1)
            assert await _mark(store) == (2, 2.0)  # the second strike, though its first here
            await asyncio.sleep(2.5)
            assert await burst([first], key, 1) == {200: 1}
            assert (await _mark(store))[0] == 0  # the key answered: no instance counts on from 2
            await asyncio.sleep(1)
            fake_openai.script(Script(status=429, body=slow_down))
            await burst([second], key, 1)
            assert await _mark(store) == (1, 1.0)
        finally:
            await stop_all([first, second])
    finally:
        await store.close()


async def test_a_breaker_opened_on_one_instance_is_open_on_all_and_probed_once(
    home: Path, pg_url: str, fake_openai: FakeOpenAI
) -> None:
    """Two callers' failures on one instance open the provider for every instance; after the
    cool-down one request in all (of six at once over both instances) probes it, and its success
    closes the provider for all."""
    point_openai_at(home, fake_openai.url, max_retries=0)
    configure(home, resilience={"breaker_threshold": 2, "breaker_cooldown": 3})
    store = await open_store(pg_url)
    try:
        keys = [(await store.keys.create_key(name=f"caller-{i}"))[1] for i in range(3)]
    finally:
        await store.close()
    running = list(await asyncio.gather(start_instance(home, pg_url), start_instance(home, pg_url)))
    try:
        broken = error_body("The server had an error", "server_error")
        fake_openai.script(Script(status=500, body=broken), Script(status=500, body=broken))
        for key in keys[:2]:
            assert await burst(running[:1], key, 1) == {502: 1}
        opened = asyncio.get_running_loop().time()
        await asyncio.sleep(1)  # the other instance's next look at the store
        sent = len(fake_openai.requests)
        assert await burst(running[1:], keys[2], 3) == {503: 3}  # skipped there too
        assert len(fake_openai.requests) == sent
        await asyncio.sleep(opened + 3.2 - asyncio.get_running_loop().time())
        fake_openai.script(Script(delay=1.0))  # the probe takes a moment: the others meet it in flight
        assert await burst(running, keys[2], 6) == {200: 1, 503: 5}
        assert len(fake_openai.requests) == sent + 1
        await asyncio.sleep(1)
        assert await burst(running, keys[2], 4) == {200: 4}  # closed for all
    finally:
        await stop_all(running)

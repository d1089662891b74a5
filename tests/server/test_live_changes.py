"""Keys, top-ups and provider changes made with the CLI reach a running server within a second."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from olga_cli.server import app as server_app
from olga_cli.store.db import open_store
from tests.cli.helpers import olga_async
from tests.fakes.gateway import RunningGateway, mint_key, point_openai_at, start_gateway
from tests.fakes.openai_upstream import FakeOpenAI

CHAT = {"model": "openai/gpt-4o-mini", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


async def status_of(gateway: RunningGateway, key: str, payload: dict = CHAT) -> int:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            gateway.v1 + "/chat/completions", json=payload, headers={"Authorization": f"Bearer {key}"}
        ) as reply:
            await reply.read()
            return reply.status


async def within_a_second(check: Callable[[], Awaitable[bool]]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 1.0
    while not await check():
        assert loop.time() < deadline, "the change did not reach the server within a second"
        await asyncio.sleep(0.05)


async def test_new_key_disable_enable_and_topup_apply_without_restart(gateway: RunningGateway) -> None:
    created = await olga_async("keys", "create", "--name", "fresh", "--credits", "0.000001", "--json")
    key = json.loads(created.stdout)["key"]

    async def is_(code: int) -> bool:
        return await status_of(gateway, key) == code

    await within_a_second(lambda: is_(402))  # known, but the credits cannot cover the worst case
    await olga_async("credits", "topup", "fresh", "1")
    await within_a_second(lambda: is_(200))
    await olga_async("keys", "disable", "fresh")
    await within_a_second(lambda: is_(401))
    await olga_async("keys", "enable", "fresh")
    await within_a_second(lambda: is_(200))
    await olga_async("keys", "delete", "fresh", "--yes")
    await within_a_second(lambda: is_(401))


async def test_provider_key_added_with_the_cli_is_used_on_the_next_request(
    gateway: RunningGateway, fake_openai: FakeOpenAI, api_key: str
) -> None:
    await olga_async(
        "providers", "add", "second", "--kind", "openai-compatible", "--base-url", fake_openai.url + "/v1"
    )
    payload = {"model": "second/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    await within_a_second(lambda: _ok(gateway, api_key, payload))
    assert "Authorization" not in fake_openai.last.headers
    await olga_async("providers", "add-key", "second", "--api-key", "sk-second-provider")
    await within_a_second(lambda: _has_auth(gateway, api_key, payload, fake_openai))


async def _ok(gateway: RunningGateway, key: str, payload: dict) -> bool:
    return await status_of(gateway, key, payload) == 200


async def _has_auth(gateway: RunningGateway, key: str, payload: dict, fake: FakeOpenAI) -> bool:
    await status_of(gateway, key, payload)
    return fake.last.headers.get("Authorization") == "Bearer sk-second-provider"


async def test_a_refusal_looks_at_the_store_first_so_cli_changes_count_on_the_very_next_request(
    gateway: RunningGateway,
) -> None:
    # No waiting between the CLI and the request: the watcher's tick is 0.25 s, these follow at once.
    created = await olga_async("keys", "create", "--name", "instant", "--credits", "0.000001", "--json")
    key = json.loads(created.stdout)["key"]
    assert await status_of(gateway, key) == 402  # known at once (not 401), the credits too small
    await olga_async("credits", "topup", "instant", "1")
    assert await status_of(gateway, key) == 200
    await olga_async("keys", "disable", "instant")
    await within_a_second(lambda: _status_is(gateway, key, 401))
    await olga_async("keys", "enable", "instant")
    assert await status_of(gateway, key) == 200
    async with aiohttp.ClientSession() as session:
        fresh = json.loads((await olga_async("keys", "create", "--name", "instant-2", "--json")).stdout)[
            "key"
        ]
        async with session.get(gateway.v1 + "/key", headers={"Authorization": f"Bearer {fresh}"}) as reply:
            assert reply.status == 200 and (await reply.json())["data"]["name"] == "instant-2"


async def _status_is(gateway: RunningGateway, key: str, code: int) -> bool:
    return await status_of(gateway, key) == code


async def test_a_key_disabled_a_second_ago_is_refused_even_when_the_watcher_is_late(
    home: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a machine short of CPU the watcher's tick can come late; a request that arrives a second
    after the change must be refused all the same. The watcher here is as late as it gets: after its
    first look it sleeps an hour."""
    monkeypatch.setattr(server_app, "WATCH_INTERVAL", 3600.0)
    point_openai_at(home, fake_openai.url)
    row, key = await mint_key(home, name="late-watch")
    running = await start_gateway(home)
    try:
        assert await status_of(running, key) == 200
        db = await open_store(home / "olga.db")
        try:
            await db.keys.update_key(row.id, disabled=True)
        finally:
            await db.close()
        await asyncio.sleep(1.0)
        assert await status_of(running, key) == 401
    finally:
        await running.close()


@pytest.mark.parametrize("store", ["hangs", "fails"])
async def test_a_store_that_hangs_or_fails_leaves_requests_served_from_the_last_view(
    home: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    """The request's own look (the watcher being late) is bounded and never its failure."""
    monkeypatch.setattr(server_app, "WATCH_INTERVAL", 3600.0)
    point_openai_at(home, fake_openai.url)
    _, key = await mint_key(home, name="store-down")
    running = await start_gateway(home)
    try:
        assert await status_of(running, key) == 200

        async def unusable(*, unless_since: float | None = None) -> bool:
            if store == "hangs":
                await asyncio.sleep(30)
            raise OSError("the store is unreachable")

        monkeypatch.setattr(running.gateway, "refresh_store_if_changed", unusable)
        await asyncio.sleep(0.6)  # the last look is now too old: the request looks itself
        loop = asyncio.get_running_loop()
        began = loop.time()
        assert await status_of(running, key) == 200
        assert loop.time() - began < 2.0
    finally:
        await running.close()


async def test_a_key_refused_while_the_watcher_was_mid_look_is_served_once_that_look_brings_it_in(
    gateway: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race found in CI: the watcher began a look after the key was minted, and the request was
    refused on the snapshot before that look finished; the refusal's own look, waiting for the
    watcher's, then found nothing new and refused the key, though the watcher had just brought it in."""
    from olga_cli.gateway.admission.auth import authenticate_now

    gw = gateway.gateway
    _, key = await mint_key(gateway.home, name="mid-look")  # committed by another connection
    paused, release = asyncio.Event(), asyncio.Event()
    snapshot_class = type(gw.snapshot)
    original = snapshot_class.refresh

    async def slow_refresh(self: object, store: object) -> None:
        paused.set()
        await release.wait()
        await original(self, store)  # type: ignore[arg-type]

    monkeypatch.setattr(snapshot_class, "refresh", slow_refresh)
    watcher = asyncio.create_task(gw.refresh_store_if_changed())  # the watcher's tick
    await paused.wait()  # mid-look: the change seen, the snapshot not yet refreshed
    asking = asyncio.create_task(authenticate_now(gw, {"Authorization": f"Bearer {key}"}))
    await asyncio.sleep(0.05)  # refused on the old snapshot, waiting for the watcher's look
    release.set()
    assert await watcher is True
    assert (await asking).row.name == "mid-look"


async def test_a_key_minted_after_the_watchers_look_read_the_store_is_still_looked_for(
    gateway: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of that race: the watcher's look read the keys, then the key was minted, then
    the request came. That look brings its change in after the request arrived, but it cannot hold the
    key; the refusal must still look for itself."""
    from olga_cli.gateway.admission.auth import authenticate_now

    gw = gateway.gateway
    await mint_key(gateway.home, name="earlier")  # what the watcher's look will find
    paused, release = asyncio.Event(), asyncio.Event()
    snapshot_class = type(gw.snapshot)
    original = snapshot_class.refresh

    async def refresh_then_wait(self: object, store: object) -> None:
        await original(self, store)  # type: ignore[arg-type]
        paused.set()
        await release.wait()

    monkeypatch.setattr(snapshot_class, "refresh", refresh_then_wait)
    watcher = asyncio.create_task(gw.refresh_store_if_changed())
    await paused.wait()  # the keys read; the look not yet over
    _, key = await mint_key(gateway.home, name="later")
    monkeypatch.setattr(snapshot_class, "refresh", original)
    asking = asyncio.create_task(
        authenticate_now(gw, {"Authorization": f"Bearer {key}"}, since=time.perf_counter())
    )
    await asyncio.sleep(0.05)
    release.set()
    assert await watcher is True
    assert (await asking).row.name == "later"

"""Keys, top-ups and provider changes made with the CLI reach a running server within a second."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import aiohttp

from tests.cli.helpers import olga_async
from tests.fakes.gateway import RunningGateway
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

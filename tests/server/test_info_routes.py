"""Routes answered by olga itself, the /api/v1 aliases, embeddings and provider-pinned routes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import aiohttp
import openai

from tests.fakes.gateway import RunningGateway, configure, mint_key, start_gateway
from tests.fakes.openai_upstream import FakeOpenAI


async def get_json(url: str, key: str | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=headers) as reply:
            return reply.status, await reply.json()


async def test_health_needs_no_key(gateway: RunningGateway) -> None:
    status, body = await get_json(gateway.url + "/health")
    assert status == 200 and body["status"] == "ok"


async def test_models_lists_only_what_the_key_may_use(home: Path, fake_openai: FakeOpenAI) -> None:
    configure(home, providers={"openai": {"base_url": fake_openai.url + "/v1", "api_key": "x"}})
    _, open_key = await mint_key(home, name="open")
    _, narrow_key = await mint_key(home, name="narrow", models=("mock/echo", "gpt-4o-mini"))
    running = await start_gateway(home)
    try:
        client = openai.AsyncOpenAI(base_url=running.v1, api_key=open_key)
        everything = [m.id async for m in client.models.list()]
        narrow = openai.AsyncOpenAI(base_url=running.v1, api_key=narrow_key)
        allowed = sorted([m.id async for m in narrow.models.list()])
        status, _ = await get_json(running.url + "/api/v1/models")
    finally:
        await running.close()
    assert "openai/gpt-4o-mini" in everything and "anthropic/claude-haiku-4-5" in everything
    assert allowed == ["mock/echo", "openai/gpt-4o-mini"]
    assert status == 401


async def test_key_route_reports_credits_and_spend(home: Path, fake_openai: FakeOpenAI) -> None:
    configure(home, providers={"openai": {"base_url": fake_openai.url + "/v1", "api_key": "x"}})
    row, key = await mint_key(home, name="wallet", credits_usd="2", rate_multiplier=Decimal("2"))
    running = await start_gateway(home)
    try:
        client = openai.AsyncOpenAI(base_url=running.url + "/api/v1", api_key=key)
        await client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
        status, body = await get_json(running.v1 + "/key", key)
    finally:
        await running.close()
    data = body["data"]
    assert status == 200 and data["id"] == row.id and data["name"] == "wallet"
    assert data["credits"] == "2" and data["spent"] == "0.000012" and data["balance"] == "1.999988"


async def test_embeddings_are_metered_by_input_tokens(
    gateway: RunningGateway, fake_openai: FakeOpenAI, api_key: str
) -> None:
    client = openai.AsyncOpenAI(base_url=gateway.v1, api_key=api_key)
    result = await client.embeddings.with_raw_response.create(
        model="text-embedding-3-small", input=["one two three", "four"]
    )
    parsed = result.parse()
    assert len(parsed.data) == 2 and parsed.usage.prompt_tokens == 4
    assert (
        fake_openai.last.path == "/v1/embeddings"
        and fake_openai.last.body["model"] == "text-embedding-3-small"
    )
    _status, body = await get_json(
        gateway.v1 + "/generation?id=" + result.headers["x-olga-generation-id"], api_key
    )
    # 4 tokens at $0.02 per million
    assert body["data"]["tokens_prompt"] == 4 and body["data"]["cost"] == "0.00000008"


async def test_pinned_provider_route(gateway: RunningGateway, fake_openai: FakeOpenAI, api_key: str) -> None:
    client = openai.AsyncOpenAI(base_url=gateway.v1 + "/openai", api_key=api_key)
    completion = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
    )
    assert completion.choices[0].message.content == "Hello from the fake provider."
    mock = openai.AsyncOpenAI(base_url=gateway.v1 + "/mock", api_key=api_key)
    echoed = await mock.chat.completions.create(
        model="echo", messages=[{"role": "user", "content": "pinned"}]
    )
    assert echoed.choices[0].message.content == "pinned"

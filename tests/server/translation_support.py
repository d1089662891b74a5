"""Shared by the Messages, Responses and translation server tests: olga with both fake providers.

Import the fixtures you use into the test module (``from tests.server.translation_support import
fake_anthropic, olga``) so that pytest finds them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import openai
import pytest

from olga_cli.money import pico_to_usd
from tests.fakes.anthropic_upstream import FakeAnthropic, start_fake_anthropic
from tests.fakes.gateway import RunningGateway, point_anthropic_at, point_openai_at, start_gateway
from tests.fakes.openai_upstream import FakeOpenAI

HELLO = [{"role": "user", "content": "Say hello"}]
WEATHER_TOOL_ANTHROPIC = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
WEATHER_TOOL_OPENAI = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@dataclass
class Olga:
    """A running gateway whose openai and anthropic providers are the two fakes, and a key for it."""

    running: RunningGateway
    key: str
    openai_fake: FakeOpenAI
    anthropic_fake: FakeAnthropic
    clients: list[anthropic.AsyncAnthropic | openai.AsyncOpenAI] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.running.url

    def anthropic(
        self, *, base_url: str | None = None, api_key: str | None = None
    ) -> anthropic.AsyncAnthropic:
        """An Anthropic SDK client on olga (closed with the fixture)."""
        client = anthropic.AsyncAnthropic(
            base_url=base_url or self.url, api_key=api_key or self.key, max_retries=0
        )
        self.clients.append(client)
        return client

    def openai(self, *, base_url: str | None = None, api_key: str | None = None) -> openai.AsyncOpenAI:
        """An OpenAI SDK client on olga's /v1 (closed with the fixture)."""
        client = openai.AsyncOpenAI(
            base_url=base_url or self.running.v1, api_key=api_key or self.key, max_retries=0
        )
        self.clients.append(client)
        return client

    async def generation(self, ref: str) -> dict[str, Any]:
        """``GET /v1/generation?id=`` as the key that made the request."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{self.running.v1}/generation",
                params={"id": ref},
                headers={"Authorization": f"Bearer {self.key}"},
            ) as reply,
        ):
            assert reply.status == 200, await reply.text()
            data: dict[str, Any] = (await reply.json())["data"]
            return data

    async def generation_when_committed(self, ref: str, *, within: float = 10.0) -> dict[str, Any]:
        """The record of a request whose caller stopped reading before its stream ended (an SDK raises on
        an error event, which olga writes before the stream's end and its record commit): wait for it."""
        deadline = asyncio.get_running_loop().time() + within
        async with aiohttp.ClientSession() as session:
            while True:
                async with session.get(
                    f"{self.running.v1}/generation",
                    params={"id": ref},
                    headers={"Authorization": f"Bearer {self.key}"},
                ) as reply:
                    if reply.status == 200:
                        data: dict[str, Any] = (await reply.json())["data"]
                        return data
                    assert reply.status == 404, await reply.text()
                assert asyncio.get_running_loop().time() < deadline, f"no record of {ref} within {within}s"
                await asyncio.sleep(0.05)

    async def post(self, path: str, body: Any, **headers: str) -> tuple[int, dict[str, str], bytes]:
        """A raw POST with the key as ``x-api-key`` (what Anthropic clients send)."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url + path, json=body, headers={"x-api-key": self.key, **headers}) as reply,
        ):
            return reply.status, dict(reply.headers), await reply.read()


@pytest.fixture
async def fake_anthropic() -> AsyncIterator[FakeAnthropic]:
    fake = await start_fake_anthropic()
    yield fake
    await fake.close()


@pytest.fixture
async def olga(
    home: Path, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic, api_key: str
) -> AsyncIterator[Olga]:
    point_openai_at(home, fake_openai.url)
    point_anthropic_at(home, fake_anthropic.url)
    running = await start_gateway(home)
    state = Olga(running, api_key, fake_openai, fake_anthropic)
    yield state
    for client in state.clients:
        await client.close()
    await running.close()


def cost(*terms: tuple[int, str]) -> str:
    """Expected cost in USD for (tokens, USD per million tokens) pairs, printed as the record prints it."""
    total = sum((Decimal(tokens) * Decimal(price) for tokens, price in terms), Decimal(0))
    return pico_to_usd(int(total * 1_000_000))  # USD per million tokens -> picodollars per token

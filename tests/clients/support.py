"""Real clients' traffic, captured, replayed through olga against strict fake providers of each kind.

The fixtures in ``tests/fixtures/clients/`` are requests captured from Claude Code 2.1, Codex CLI 0.171
and the AI SDK 6, each run inside a network namespace with only loopback, talking to a capturing fake
over a unix-socket bridge (personal values such as device ids scrubbed). ``Three`` is olga with an
OpenAI fake, an Anthropic fake and an OpenAI-compatible fake (vLLM-like: classic Chat fields only),
all refusing fields their real counterparts do not know.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fakes.anthropic_upstream import FakeAnthropic, start_fake_anthropic
from tests.fakes.gateway import (
    RunningGateway,
    configure,
    mint_key,
    point_anthropic_at,
    point_openai_at,
    start_gateway,
)
from tests.fakes.openai_upstream import FakeOpenAI

FIXTURES = Path(__file__).parent.parent / "fixtures" / "clients"
COMPATIBLE_MODEL = "vllm/qwen3-coder"  # priced by the "vllm/*" entry the fixture adds


def fixture(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return document


@dataclass
class Three:
    running: RunningGateway
    key: str
    key_id: str
    openai: FakeOpenAI
    anthropic: FakeAnthropic
    compatible: FakeOpenAI

    async def send(
        self, captured: dict[str, Any], *, model: str, stream: bool | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """The captured request, as its client sent it, for ``model`` through olga."""
        body = {**captured["body"], "model": model}
        if stream is not None:
            body["stream"] = stream
        headers = {k: v for k, v in captured["headers"].items() if k.lower() != "content-type"}
        headers["Authorization"] = f"Bearer {self.key}"
        url = f"{self.running.url}{captured['path']}"
        if captured.get("query"):
            url += "?" + captured["query"]
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json=body, headers=headers) as reply,
        ):
            return reply.status, dict(reply.headers), await reply.read()

    async def generation(self, ref: str) -> dict[str, Any]:
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


async def start_three(home: Path, *, credits_usd: str | None = None) -> tuple[Three, list[Any]]:
    openai_fake = await FakeOpenAI().start()
    compatible = await FakeOpenAI().start()
    compatible.compatible = True
    anthropic_fake = await start_fake_anthropic()
    point_openai_at(home, openai_fake.url)
    point_anthropic_at(home, anthropic_fake.url)
    configure(
        home,
        providers={
            "vllm": {"kind": "openai-compatible", "base_url": compatible.url + "/v1", "api_key": "sk-vllm"}
        },
    )
    (home / "model_catalog.json").write_text(
        json.dumps(
            {
                "models": {
                    "vllm/*": {
                        "provider": "vllm",
                        "input_per_mtok": "0.1",
                        "output_per_mtok": "0.2",
                        "max_output_tokens": 8192,
                        "endpoints": ["chat"],
                    }
                }
            }
        )
    )
    row, key = await mint_key(home, name="agent", credits_usd=credits_usd)
    running = await start_gateway(home)
    return Three(running, key, row.id, openai_fake, anthropic_fake, compatible), [
        openai_fake,
        compatible,
        anthropic_fake,
    ]


@pytest.fixture
async def three(home: Path) -> AsyncIterator[Three]:
    state, fakes = await start_three(home)
    yield state
    await state.running.close()
    for fake in fakes:
        await fake.close()

"""Shared by the resilience server tests: a gateway started on a configured home, records, charges."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import openai
from multidict import CIMultiDict
from typer.testing import CliRunner, Result

from olga_cli.cli.app import app as cli_app
from olga_cli.records import GenerationRecord
from olga_cli.store.db import open_store
from tests.fakes.gateway import RunningGateway, configure, mint_key, point_openai_at, start_gateway
from tests.fakes.openai_upstream import FakeOpenAI

CHAT = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}
SECOND_MODEL = "second/gpt-4o-mini"


def price(context_window: int = 128_000) -> dict[str, Any]:
    return {
        "provider": "second",
        "upstream": "gpt-4o-mini",
        "input_per_mtok": "0.15",
        "output_per_mtok": "0.60",
        "context_window": context_window,
        "max_output_tokens": 16384,
    }


def add_second_provider(home: Path, fake: FakeOpenAI, *, context_window: int = 128_000, **extra: Any) -> None:
    """A second OpenAI-compatible provider, "second", whose gpt-4o-mini the catalog overlay prices."""
    configure(
        home,
        providers={
            "second": {
                "kind": "openai-compatible",
                "base_url": fake.url + "/v1",
                "api_key": "sk-second-upstream",
                **extra,
            }
        },
    )
    catalog = {"version": "test", "models": {SECOND_MODEL: price(context_window)}}
    (home / "model_catalog.json").write_text(json.dumps(catalog))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Olga:
    running: RunningGateway
    key: str
    key_id: str

    @property
    def home(self) -> Path:
        return self.running.home

    def sdk(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.running.v1, api_key=self.key, max_retries=0)

    async def post(
        self, payload: dict[str, Any], path: str = "/chat/completions"
    ) -> tuple[int, CIMultiDict[str], Any]:
        auth = {"Authorization": f"Bearer {self.key}"}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.running.v1 + path, json=payload, headers=auth) as reply,
        ):
            raw = await reply.read()
            return reply.status, CIMultiDict(reply.headers), json.loads(raw) if raw else None

    async def post_raw(
        self, payload: dict[str, Any], path: str = "/chat/completions"
    ) -> tuple[int, CIMultiDict[str], bytes]:
        """A request read to its end as bytes (a stream, as the caller received it)."""
        auth = {"Authorization": f"Bearer {self.key}"}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.running.v1 + path, json=payload, headers=auth) as reply,
        ):
            return reply.status, CIMultiDict(reply.headers), await reply.read()

    async def record(self, generation_id: str, *, wait: float = 2.0) -> GenerationRecord:
        """The record, polled for up to ``wait`` seconds (a disconnected caller's record has no response to wait on)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            db = await open_store(self.home / "olga.db")
            try:
                record = await db.records.get_generation(generation_id)
            finally:
                await db.close()
            if record is not None or loop.time() > deadline:
                assert record is not None, f"no record {generation_id}"
                return record
            await asyncio.sleep(0.05)

    async def charges(self) -> list[int]:
        db = await open_store(self.home / "olga.db")
        try:
            async with db.conn.execute(
                "SELECT amount_pico FROM ledger WHERE key_id = ? ORDER BY id", (self.key_id,)
            ) as cur:
                return [row[0] async for row in cur]
        finally:
            await db.close()

    async def close(self) -> None:
        await self.running.close()


async def start_olga(
    home: Path, fake: FakeOpenAI, *, openai_extra: dict[str, Any] | None = None, **tables: Any
) -> Olga:
    """Point the openai provider at ``fake``, merge ``tables`` into config.toml, mint a key, start olga."""
    point_openai_at(home, fake.url, **(openai_extra or {}))
    if tables:
        configure(home, **tables)
    row, key = await mint_key(home, name="resilience")
    return Olga(await start_gateway(home), key, row.id)


def cli(*args: str) -> Result:
    return CliRunner().invoke(cli_app, list(args), catch_exceptions=False)


async def cli_async(*args: str) -> Result:
    """The CLI runs its own event loop: in a thread while the test's loop serves the gateway."""
    result = await asyncio.to_thread(cli, *args)
    assert result.exit_code == 0, result.output
    return result


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 1.5) -> None:
    """Until ``check`` holds, bounded: the server picks up CLI changes within a second."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        assert loop.time() < deadline, f"not within {within}s"
        await asyncio.sleep(0.05)


def sse_events(raw: bytes) -> list[str]:
    """The data of each event of an SSE body."""
    events = []
    for block in raw.decode().split("\n\n"):
        data = [line[5:].strip() for line in block.split("\n") if line.startswith("data:")]
        if data:
            events.append("\n".join(data))
    return events

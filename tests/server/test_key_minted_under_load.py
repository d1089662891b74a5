"""A key minted a moment ago works at once, however busy the server is.

The race: the server's looks at the store ran on the connection that also served /v1/generation and
/v1/key. A cursor left open there between two fetches holds that connection's read snapshot, so a look
made meanwhile saw the store as it was before the key was minted: 401 "Unknown API key" (and the
recorder's next BEGIN IMMEDIATE failed with "database is locked"). Here keys are minted by another
connection, as the CLI does, and used at once, many times, while other callers keep the server busy
with exactly those reads.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.gateway import mint_key, start_gateway

ROUNDS = 60
CHAT = {"model": "mock/echo", "messages": [{"role": "user", "content": "hi"}]}


def mint_elsewhere(home: Path, name: str) -> str:
    """``olga keys create`` in another thread: its own connection and event loop."""
    return asyncio.run(mint_key(home, name=name))[1]


async def test_keys_minted_and_used_at_once_under_load_are_never_refused(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="olga")
    _, busy = await mint_key(home, name="busy")
    olga = await start_gateway(home)
    stop = asyncio.Event()
    auth = {"Authorization": f"Bearer {busy}"}

    async def keep_busy() -> None:
        async with aiohttp.ClientSession() as session:
            while not stop.is_set():
                async with session.post(olga.v1 + "/chat/completions", json=CHAT, headers=auth) as reply:
                    generation_id = reply.headers["x-olga-generation-id"]
                    await reply.read()
                async with session.get(
                    olga.v1 + "/generation", params={"id": generation_id}, headers=auth
                ) as reply:
                    assert reply.status == 200
                async with session.get(olga.v1 + "/key", headers=auth) as reply:
                    assert reply.status == 200

    load = [asyncio.create_task(keep_busy()) for _ in range(6)]
    refused: list[tuple[int, int]] = []
    try:
        async with aiohttp.ClientSession() as session:
            for index in range(ROUNDS):
                key = await asyncio.to_thread(mint_elsewhere, home, f"fresh-{index}")
                headers = {"Authorization": f"Bearer {key}"}
                async with session.post(olga.v1 + "/chat/completions", json=CHAT, headers=headers) as reply:
                    if reply.status != 200:
                        refused.append((index, reply.status))
    finally:
        stop.set()
        await asyncio.gather(*load)
        await olga.close()
    assert refused == []
    assert "failed" not in caplog.text  # no batch of records had to be written again

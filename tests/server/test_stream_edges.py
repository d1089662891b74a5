"""Clients that cannot take a stream, and callers who leave before its first event.

An HTTP/1.0 client asking for a stream gets a clear 400 (chunked transfer is HTTP/1.1's), never an empty
charged 200; without ``stream`` it is answered whole. A caller who leaves after the provider's headers but
before any event is recorded as 499, and the server always has a response to finish the handler with.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.gateway import RunningGateway, mint_key, point_openai_at, start_gateway, store_totals
from tests.fakes.misbehaving import Misbehaving, stream
from tests.fakes.openai_upstream import FakeOpenAI
from tests.server.resilience_support import Olga

CHAT = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
async def olga(home: Path, fake_openai: FakeOpenAI) -> AsyncIterator[RunningGateway]:
    point_openai_at(home, fake_openai.url)
    running = await start_gateway(home)
    yield running
    await running.close()


async def http10(url: str, key: str, payload: dict[str, object]) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    body = json.dumps(payload).encode()
    writer.write(
        b"POST /v1/chat/completions HTTP/1.0\r\nHost: olga\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), rest


async def test_an_http_1_0_stream_request_gets_a_clear_400_and_no_charge(
    olga: RunningGateway, home: Path
) -> None:
    row, key = await mint_key(home, name="old-client", credits_usd="1")
    await olga.refresh()
    status, body = await http10(olga.url, key, {**CHAT, "stream": True})
    assert status == 400
    error = json.loads(body)["error"]
    assert error["param"] == "stream" and "HTTP/1.1" in error["message"]
    assert await store_totals(home, row.id) == (10**12, 0)

    status, body = await http10(olga.url, key, CHAT)  # the same client without a stream is served
    assert status == 200 and json.loads(body)["choices"][0]["message"]["content"]


async def test_a_caller_who_leaves_before_the_first_event_is_recorded_499_without_a_server_error(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake = await Misbehaving().start()
    fake.behaviour = stream([b": keep-alive\n\n"], then_every=0.05, seconds=5)
    point_openai_at(home, fake.url)
    row, key = await mint_key(home, name="leaver")
    olga = Olga(await start_gateway(home), key, row.id)
    try:
        caplog.set_level(logging.ERROR, logger="aiohttp")
        async with aiohttp.ClientSession() as session:
            request = session.post(
                olga.running.v1 + "/chat/completions",
                json={**CHAT, "stream": True},
                headers={"Authorization": f"Bearer {key}"},
            )
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    async with request as reply:
                        await reply.read()  # nothing comes before the caller gives up
        await asyncio.sleep(0.3)  # olga notices within a tick
        async with olga.running.gateway.db.conn.execute("SELECT id FROM generations") as cursor:
            ids = [r[0] async for r in cursor]
        assert len(ids) == 1
        record = await olga.record(ids[0])
        assert (record.status, record.error) == (499, "client_disconnected")
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    finally:
        await olga.close()
        await fake.close()

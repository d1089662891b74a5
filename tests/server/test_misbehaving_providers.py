"""Providers that misbehave: bombs, endless lines, trickles, echoed keys, redirects.

Each fake is a real server on 127.0.0.1 (``tests.fakes.misbehaving``), bounded in size and time. olga
answers each with a clear 502 or 504 (or a stream ending in an error event), keeps its loop free for
everyone else, and never lets the provider's key out.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.fakes.gateway import configure, mint_key, start_gateway
from tests.fakes.misbehaving import (
    MB,
    Misbehaving,
    answer,
    chat_chunk,
    echo_key,
    endless_line,
    gzip_bomb,
    redirect,
    stream,
)
from tests.server.resilience_support import Olga, sse_events

UPSTREAM_KEY = "sk-proj-Upstream0123456789abcdefSECRET"
CHAT = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
async def fake() -> AsyncIterator[Misbehaving]:
    server = await Misbehaving().start()
    yield server
    await server.close()


async def start(home: Path, fake: Misbehaving, **provider: Any) -> Olga:
    openai = {"base_url": fake.url + "/v1", "api_key": UPSTREAM_KEY, "max_retries": 0, **provider}
    configure(home, providers={"openai": openai})
    row, key = await mint_key(home, name="victim")
    return Olga(await start_gateway(home), key, row.id)


@pytest.fixture
async def olga_factory(home: Path, fake: Misbehaving) -> AsyncIterator[list[Olga]]:
    started: list[Olga] = []
    yield started
    for olga in started:
        await olga.close()


async def health_while(olga: Olga, work: Any) -> tuple[Any, float]:
    """Run ``work`` while probing /health every 50 ms; the result and the slowest probe's seconds."""
    slowest = 0.0
    done = asyncio.Event()

    async def probe() -> None:
        nonlocal slowest
        async with aiohttp.ClientSession() as session:
            while not done.is_set():
                began = time.perf_counter()
                async with session.get(olga.running.url + "/health") as reply:
                    assert reply.status == 200
                slowest = max(slowest, time.perf_counter() - began)
                await asyncio.sleep(0.05)

    prober = asyncio.create_task(probe())
    try:
        result = await work
    finally:
        done.set()
        await prober
    return result, slowest


async def test_a_gzip_bomb_is_refused_at_the_response_limit_with_a_clear_502(
    home: Path, fake: Misbehaving, olga_factory: list[Olga]
) -> None:
    fake.behaviour = gzip_bomb(64 * MB)  # 64 KB on the wire
    olga = await start(home, fake, max_response_mb=4)
    olga_factory.append(olga)
    (status, headers, body), slowest = await health_while(olga, olga.post(CHAT))
    assert status == 502
    assert body["error"]["code"] == "upstream_error"
    assert "larger than 4 MiB" in body["error"]["message"] and "max_response_mb" in body["error"]["message"]
    assert slowest < 1.0
    record = await olga.record(headers["x-olga-generation-id"])
    assert record.status == 502 and record.attempts[0].error.startswith("too_large")  # type: ignore[union-attr]


async def test_a_gzipped_stream_of_one_endless_line_is_refused_without_blocking_the_loop(
    home: Path, fake: Misbehaving, olga_factory: list[Olga]
) -> None:
    fake.behaviour = gzip_bomb(64 * MB, content_type="text/event-stream")
    olga = await start(home, fake, max_line_mb=2)
    olga_factory.append(olga)
    (status, _, body), slowest = await health_while(olga, olga.post({**CHAT, "stream": True}))
    assert status == 502  # nothing was streamed yet: an error in the route's shape, not a stream
    assert "SSE line of more than 2 MiB" in body["error"]["message"]
    assert slowest < 1.0


async def test_an_endless_line_at_network_speed_is_cut_at_the_event_limit(
    home: Path, fake: Misbehaving, olga_factory: list[Olga]
) -> None:
    fake.behaviour = endless_line(seconds=20)
    olga = await start(home, fake, max_line_mb=4, max_event_mb=4)
    olga_factory.append(olga)
    began = time.perf_counter()
    (status, _, body), slowest = await health_while(olga, olga.post({**CHAT, "stream": True}))
    assert status == 502 and "more than 4 MiB" in body["error"]["message"]
    assert time.perf_counter() - began < 10 and slowest < 1.0


async def test_keep_alive_comments_do_not_keep_a_silent_stream_alive(
    home: Path, fake: Misbehaving, olga_factory: list[Olga]
) -> None:
    """A comment every 50 ms for 10 s: idle after 0.5 s all the same, since comments are not events."""
    fake.behaviour = stream([chat_chunk("Hel"), b": keep-alive\n\n"], then_every=0.05, seconds=10)
    olga = await start(home, fake, idle_timeout=0.5)
    olga_factory.append(olga)
    began = time.perf_counter()
    status, headers, raw = await olga.post_raw({**CHAT, "stream": True})
    assert time.perf_counter() - began < 3
    assert status == 200
    events = sse_events(raw)
    assert json.loads(events[0])["choices"][0]["delta"]["content"] == "Hel"
    error = json.loads(events[-1])["error"]
    assert error["code"] == "upstream_timeout" and "went silent" in error["message"]
    record = await olga.record(headers["x-olga-generation-id"])
    assert (record.status, record.error) == (504, "upstream_timeout")


async def test_comments_and_trickled_bytes_before_the_first_event_end_in_a_504(
    home: Path, fake: Misbehaving, olga_factory: list[Olga]
) -> None:
    fake.behaviour = stream([b": ping\n\n", b":"], then_every=0.05, seconds=10)  # then a byte at a time
    olga = await start(home, fake, idle_timeout=0.5)
    olga_factory.append(olga)
    began = time.perf_counter()
    status, _, body = await olga.post({**CHAT, "stream": True})
    assert time.perf_counter() - began < 3
    assert status == 504 and body["error"]["code"] == "upstream_timeout"


async def test_a_stream_that_never_ends_is_cut_at_the_total_timeout(
    home: Path, fake: Misbehaving, olga_factory: list[Olga]
) -> None:
    fake.behaviour = stream([chat_chunk("more ")], then_every=0.05, seconds=10)  # real events, forever
    olga = await start(home, fake, total_timeout=1.0, idle_timeout=5)
    olga_factory.append(olga)
    began = time.perf_counter()
    status, headers, raw = await olga.post_raw({**CHAT, "stream": True})
    assert 0.9 < time.perf_counter() - began < 4 and status == 200
    events = sse_events(raw)
    assert len(events) > 5 and json.loads(events[0])["choices"][0]["delta"]["content"] == "more "
    error = json.loads(events[-1])["error"]
    assert error["code"] == "upstream_timeout" and "timed out" in error["message"]
    assert "total_timeout" in error["message"]
    record = await olga.record(headers["x-olga-generation-id"])
    assert (record.status, record.error) == (504, "upstream_timeout") and record.usage_estimated


async def test_the_total_timeout_runs_from_the_requests_arrival_across_attempts(
    home: Path, fake: Misbehaving, olga_factory: list[Olga]
) -> None:
    """The first attempt waits 1.5 s for a 503 (safe to retry); the second streams real events, each
    resetting the idle timer, forever. total_timeout = 2.5 s ends the request 2.5 s after it arrived,
    not 2.5 s after the retry began (which would be 4.5 s or more, with the backoff)."""
    trickle = stream([chat_chunk("more ")], then_every=0.05, seconds=10)

    async def slow_503_then_trickle(request: web.Request) -> web.StreamResponse:
        if len(fake.requests) == 1:
            await asyncio.sleep(1.5)
            return web.json_response({"error": {"message": "busy", "type": "server_error"}}, status=503)
        return await trickle(request)

    fake.behaviour = slow_503_then_trickle
    olga = await start(home, fake, total_timeout=2.5, idle_timeout=5, max_retries=1)
    olga_factory.append(olga)
    began = time.perf_counter()
    status, headers, raw = await olga.post_raw({**CHAT, "stream": True})
    took = time.perf_counter() - began
    assert len(fake.requests) == 2 and status == 200
    assert 2.4 < took < 3.8, took
    error = json.loads(sse_events(raw)[-1])["error"]
    assert error["code"] == "upstream_timeout" and "total_timeout" in error["message"]
    record = await olga.record(headers["x-olga-generation-id"])
    assert (record.status, record.error) == (504, "upstream_timeout")
    assert [a.status for a in record.attempts] == [503, 200]


async def test_an_attempt_waiting_past_the_total_timeout_is_cut_and_not_retried(
    home: Path, fake: Misbehaving, olga_factory: list[Olga]
) -> None:
    """The first byte would come after the whole total_timeout: the attempt is cut there, and even
    with read timeouts listed in retry_on no retry goes out, since the request's time is spent."""

    async def slow_503(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(1.2)
        return web.json_response({"error": {"message": "busy", "type": "server_error"}}, status=503)

    fake.behaviour = slow_503
    olga = await start(home, fake, total_timeout=1.0, first_byte_timeout=5, max_retries=2, retry_on=[504])
    olga_factory.append(olga)
    status, headers, body = await olga.post(CHAT)
    assert status == 504 and body["error"]["code"] == "upstream_timeout"
    assert len(fake.requests) == 1
    record = await olga.record(headers["x-olga-generation-id"])
    assert len(record.attempts) == 1 and "total_timeout" in (record.attempts[0].error or "")


@pytest.mark.parametrize("status", [400, 422])
async def test_an_error_that_echoes_the_providers_key_reaches_nobody_with_the_key(
    home: Path, fake: Misbehaving, olga_factory: list[Olga], status: int
) -> None:
    fake.behaviour = echo_key(status)
    olga = await start(home, fake)
    olga_factory.append(olga)
    got, headers, raw = await olga.post_raw(CHAT)
    assert got == status
    assert UPSTREAM_KEY.encode() not in raw and b"[PROVIDER_KEY]" in raw
    generation_id = headers["x-olga-generation-id"]
    record = await olga.record(generation_id)
    assert UPSTREAM_KEY not in json.dumps(record.to_json(with_bodies=True))
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            olga.running.v1 + "/generation",
            params={"id": generation_id},
            headers={"Authorization": f"Bearer {olga.key}"},
        ) as reply,
    ):
        assert UPSTREAM_KEY.encode() not in await reply.read()


async def test_a_401_that_echoes_the_key_is_not_copied_into_olgas_own_message(
    home: Path, fake: Misbehaving, olga_factory: list[Olga], caplog: pytest.LogCaptureFixture
) -> None:
    fake.behaviour = echo_key(401)
    olga = await start(home, fake)
    olga_factory.append(olga)
    status, headers, raw = await olga.post_raw(CHAT)
    assert status == 503 and b"No active API keys" in raw
    assert UPSTREAM_KEY.encode() not in raw
    record = await olga.record(headers["x-olga-generation-id"])
    assert UPSTREAM_KEY not in json.dumps(record.to_json(with_bodies=True))
    assert UPSTREAM_KEY not in caplog.text
    health = await olga.running.gateway.db.conn.execute_fetchall("SELECT * FROM provider_health")
    assert UPSTREAM_KEY not in repr(list(map(tuple, health)))


async def test_a_redirect_is_not_followed_and_is_recorded_as_the_providers_error(
    home: Path, fake: Misbehaving, olga_factory: list[Olga]
) -> None:
    elsewhere = await Misbehaving().start()
    elsewhere.behaviour = answer(b"{}")
    try:
        fake.behaviour = redirect(elsewhere.url + "/steal")
        olga = await start(home, fake)
        olga_factory.append(olga)
        status, headers, body = await olga.post(CHAT)
        assert status == 502 and body["error"]["code"] == "upstream_error"
        assert "redirect" in body["error"]["message"]
        assert elsewhere.requests == []
        record = await olga.record(headers["x-olga-generation-id"])
        assert record.attempts[0].status == 302 and "not followed" in (record.attempts[0].error or "")
        assert await olga.charges() == []
    finally:
        await elsewhere.close()

"""Limit alerts: recorded with the request crossing them, shown by `olga keys show`, sent to the webhook."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from olga_cli.gateway.admission.usage_limits import WebhookPolicy
from tests.cli.helpers import olga_async
from tests.fakes.gateway import configure, mint_key, start_gateway
from tests.server.limits_support import Clock, add_limit, chat, utc


class Receiver:
    """A webhook receiver on 127.0.0.1 answering each POST as scripted (a status, or hang until released)."""

    def __init__(self, script: list[int | str]) -> None:
        self.script = list(script)
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.calls = 0
        self.release = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        self.calls += 1
        payload = await request.json()
        action = self.script.pop(0) if self.script else 200
        if action == "hang":
            await self.release.wait()
            action = 200
        if action == 200:
            await self.received.put(payload)
        return web.Response(status=int(action))

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hooks/olga", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hooks/olga"
        return self

    async def close(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def receiver(request: pytest.FixtureRequest) -> AsyncIterator[Receiver]:
    started = await Receiver(getattr(request, "param", [])).start()
    yield started
    await started.close()


@pytest.mark.parametrize("receiver", [[500, 503]], indirect=True)
async def test_crossing_thresholds_records_alerts_and_posts_them_with_retries(
    home: Path, receiver: Receiver
) -> None:
    configure(home, alerts={"webhook_url": receiver.url})
    row, key = await mint_key(home, name="watched")
    limit = await add_limit(home, "key", row.id, "requests", "daily", 4, alerts=(50, 100))
    running = await start_gateway(home)
    running.gateway.limits.webhook = WebhookPolicy(attempts=4, backoff=0.01, timeout=5)
    now = utc("2026-11-18T10:00:00")
    Clock(now).install(running)
    try:
        async with aiohttp.ClientSession() as session:
            generation_ids = [
                (await chat(session, running, key))[1]["x-olga-generation-id"] for _ in range(4)
            ]
        first = await asyncio.wait_for(receiver.received.get(), 10)
        second = await asyncio.wait_for(receiver.received.get(), 10)
    finally:
        await running.close()
    assert receiver.calls == 4  # two failures retried, then one POST per alert
    assert first["type"] == "usage_limit.alert"
    assert {
        k: first[k]
        for k in ("limit_id", "scope", "scope_name", "metric", "window", "percent", "usage", "threshold")
    } == {
        "limit_id": limit.id,
        "scope": "key",
        "scope_name": "watched",
        "metric": "requests",
        "window": "daily",
        "percent": 50,
        "usage": 2,
        "threshold": 4,
    }
    assert (
        first["generation_id"] == generation_ids[1] and first["window_started_at"] == "2026-11-18T00:00:00Z"
    )
    assert "reached 50% of its daily requests limit" in first["text"]
    assert (second["percent"], second["usage"], second["generation_id"]) == (100, 4, generation_ids[3])

    shown = await olga_async("keys", "show", "watched", "--json")
    assert shown.exit_code == 0, shown.output
    alerts = json.loads(shown.stdout)["alerts"]
    assert [(a["percent"], a["usage"], a["generation_id"]) for a in alerts] == [
        (100, 4, generation_ids[3]),
        (50, 2, generation_ids[1]),
    ]


@pytest.mark.parametrize("receiver", [["hang"]], indirect=True)
async def test_a_slow_webhook_never_holds_up_a_request(home: Path, receiver: Receiver) -> None:
    configure(home, alerts={"webhook_url": receiver.url})
    row, key = await mint_key(home, name="impatient")
    await add_limit(home, "key", row.id, "requests", "daily", 2, alerts=(50, 100))
    running = await start_gateway(home)
    try:
        async with aiohttp.ClientSession() as session:
            # Both alerts fire while the receiver holds the first POST open: the requests still answer.
            for _ in range(2):
                status, _, _ = await asyncio.wait_for(chat(session, running, key), 5)
                assert status == 200
            status, _, _ = await asyncio.wait_for(chat(session, running, key), 5)
            assert status == 429
        assert receiver.received.empty() and receiver.calls == 1
        receiver.release.set()
        percents = [(await asyncio.wait_for(receiver.received.get(), 10))["percent"] for _ in range(2)]
    finally:
        await running.close()
    assert percents == [50, 100]


async def test_without_a_webhook_alerts_are_still_recorded(home: Path) -> None:
    row, key = await mint_key(home, name="quiet")
    await add_limit(home, "key", row.id, "requests", "all-time", 1, alerts=(100,))
    running = await start_gateway(home)
    try:
        async with aiohttp.ClientSession() as session:
            assert (await chat(session, running, key))[0] == 200
    finally:
        await running.close()
    shown = await olga_async("keys", "show", "quiet", "--json")
    data = json.loads(shown.stdout)
    assert [(a["percent"], a["window"], a["window_started_at"]) for a in data["alerts"]] == [
        (100, "all-time", None)
    ]

"""Shared by the limit tests: an injected clock, limits and teams written as the CLI writes them."""

from __future__ import annotations

import calendar
import time
from pathlib import Path
from typing import Any

import aiohttp

from olga_cli.store.db import open_store
from olga_cli.store.keys import TeamRow
from olga_cli.store.limits import LimitRow
from tests.fakes.gateway import RunningGateway


def utc(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S")))


class Clock:
    """The gateway's clock, moved by the test: no test sleeps across a window."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def install(self, running: RunningGateway) -> Clock:
        running.gateway.clock = self
        return self


async def add_limit(
    home: Path,
    scope: str,
    scope_id: str,
    metric: str,
    window: str,
    threshold: int,
    alerts: tuple[int, ...] = (),
) -> LimitRow:
    db = await open_store(home / "olga.db")
    try:
        return await db.limits.create_limit(
            scope=scope,
            scope_id=scope_id,
            metric=metric,  # type: ignore[arg-type]
            window=window,
            threshold=threshold,
            alerts=alerts,
        )
    finally:
        await db.close()


async def add_team(home: Path, name: str, **fields: Any) -> TeamRow:
    db = await open_store(home / "olga.db")
    try:
        return await db.keys.create_team(name=name, **fields)
    finally:
        await db.close()


async def chat(
    session: aiohttp.ClientSession,
    running: RunningGateway,
    key: str,
    *,
    path: str = "/chat/completions",
    **body: Any,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    payload = {"model": "mock/echo", "messages": [{"role": "user", "content": "hello there"}], **body}
    async with session.post(
        running.v1 + path, json=payload, headers={"Authorization": f"Bearer {key}"}
    ) as reply:
        if reply.content_type == "application/json":
            return reply.status, dict(reply.headers), await reply.json()
        return reply.status, dict(reply.headers), {"text": await reply.text()}


async def key_info(session: aiohttp.ClientSession, running: RunningGateway, key: str) -> dict[str, Any]:
    async with session.get(running.v1 + "/key", headers={"Authorization": f"Bearer {key}"}) as reply:
        assert reply.status == 200
        return (await reply.json())["data"]  # type: ignore[no-any-return]

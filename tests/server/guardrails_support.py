"""Shared by the guardrail server tests: adding guardrails to the store, reading violations and streams."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp

from olga_cli.store.db import open_store
from olga_cli.store.guardrails import Scope, ViolationRow
from tests.fakes.gateway import RunningGateway

# Well-known secret formats the secrets detector knows (made up, never valid).
OPENAI_KEY = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh3iJk6l"
GITHUB_TOKEN = "ghp_1234567890abcdefghijABCDEFGHIJ123456"
EMAIL = "bob.smith@example.com"
CARD = "4111 1111 1111 1111"


async def add_guardrail(
    running: RunningGateway,
    *,
    type: str,
    stage: str,
    action: str,
    scope: Scope = "global",
    scope_id: str | None = None,
    entities: tuple[str, ...] = (),
    name: str | None = None,
    threshold: float = 0.5,
) -> int:
    """Store a guardrail as `olga guardrails add` does, then have the gateway pick it up now."""
    db = await open_store(running.home / "olga.db")
    try:
        row = await db.guardrails.create_guardrail(
            name=name or f"{type}-{stage}-{action}",
            scope=scope,
            scope_id=scope_id,
            type=type,
            stage=stage,
            action=action,
            entities=entities,
            threshold=threshold,
        )
    finally:
        await db.close()
    await running.refresh()
    return row.id


async def stored_violations(home: Path) -> list[ViolationRow]:
    db = await open_store(home / "olga.db")
    try:
        return await db.guardrails.latest_violations(limit=1000)
    finally:
        await db.close()


async def post_stream(
    url: str, key: str, body: dict[str, Any], *, anthropic: bool = False
) -> tuple[int, bytes]:
    """POST a streamed request and read the whole raw event stream."""
    headers = {"x-api-key": key} if anthropic else {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession() as session, session.post(url, json=body, headers=headers) as reply:
        return reply.status, await reply.read()


def events_of(raw: bytes) -> list[tuple[str | None, Any]]:
    """(event name, parsed data) of every event of a raw SSE stream; ``[DONE]`` stays a string."""
    events: list[tuple[str | None, Any]] = []
    for block in raw.decode().split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            text = "\n".join(data)
            events.append((name, text if text == "[DONE]" else json.loads(text)))
    return events


def chat_text(events: list[tuple[str | None, Any]]) -> str:
    """The content a Chat Completions stream delivered."""
    return "".join(
        choice["delta"].get("content") or ""
        for _, data in events
        if isinstance(data, dict)
        for choice in data.get("choices") or []
    )


def messages_text(events: list[tuple[str | None, Any]]) -> str:
    """The text a Messages stream delivered."""
    return "".join(
        data["delta"].get("text", "")
        for _, data in events
        if isinstance(data, dict) and data.get("type") == "content_block_delta"
    )

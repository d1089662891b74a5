"""A Responses conversation translated for Anthropic names olga's earlier answers by id, and any
instance can resolve them: the items olga made are committed with their record, in the shared store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from olga_cli.store.db import open_store
from tests.fakes.gateway import point_anthropic_at
from tests.server.translation_support import fake_anthropic
from tests.team.instances import start_instance

__all__ = ["fake_anthropic"]  # fixture

MODEL = "anthropic/claude-haiku-4-5"


async def _respond(session: aiohttp.ClientSession, url: str, key: str, body: dict[str, Any]) -> Any:
    async with session.post(
        url + "/v1/responses", json=body, headers={"Authorization": f"Bearer {key}"}
    ) as reply:
        return reply.status, await reply.json()


async def test_an_item_made_by_one_instance_is_named_on_another(
    home: Path, pg_url: str, fake_anthropic: Any
) -> None:
    point_anthropic_at(home, fake_anthropic.url)
    store = await open_store(pg_url)
    try:
        _, key = await store.keys.create_key(name="sdk", credits_pico=10**15)
    finally:
        await store.close()
    first, second = [await start_instance(home, pg_url) for _ in range(2)]
    try:
        async with aiohttp.ClientSession() as session:
            status, answer = await _respond(session, first.url, key, {"model": MODEL, "input": "Say hi."})
            assert status == 200, answer
            message = next(item for item in answer["output"] if item["type"] == "message")
            said = message["content"][0]["text"]
            # The next turn as the AI SDK sends it: the earlier answer by reference, to the other instance.
            turn = {
                "model": MODEL,
                "input": [
                    {"role": "user", "content": "Say hi."},
                    {"type": "item_reference", "id": message["id"]},
                    {"role": "user", "content": "Again."},
                ],
            }
            status, again = await _respond(session, second.url, key, turn)
            assert status == 200, again
    finally:
        await first.stop()
        await second.stop()
    _, _, last = fake_anthropic.requests[-1]
    sent = last["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert said in str(sent[1]["content"])

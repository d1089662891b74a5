"""What guardrails leave behind: violations in the record and the CLI, no bodies for --zdr keys, and
guardrails added or removed with the CLI taking effect on a running server."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from olga_cli.store.db import open_store
from tests.cli.terminal import olga_async
from tests.fakes.openai_upstream import Script
from tests.server.guardrails_support import EMAIL, OPENAI_KEY, add_guardrail, post_stream, stored_violations
from tests.server.translation_support import Olga, fake_anthropic, olga

__all__ = ["fake_anthropic", "olga"]  # fixtures

CHAT_MODEL = "openai/gpt-4o-mini"
CLAUDE = "anthropic/claude-haiku-4-5"
PROMISE = 1.0  # seconds: CLI changes reach a running server within this


def _store_bytes(home: Path) -> bytes:
    """Everything SQLite has written: the database file and its write-ahead log."""
    return b"".join(path.read_bytes() for path in sorted(home.glob("olga.db*")) if path.is_file())


async def test_a_zdr_key_leaves_no_body_text_in_the_store(olga: Olga) -> None:
    db = await open_store(olga.running.home / "olga.db")
    try:
        _, zdr_key = await db.keys.create_key(name="private", zdr=True)
    finally:
        await db.close()
    await olga.running.refresh()
    await add_guardrail(olga.running, type="pii", stage="both", action="log", entities=("email",))
    client = olga.openai(api_key=zdr_key)
    olga.openai_fake.script(Script(reply="quartz-zebra-reply-one"), Script(reply="quartz-zebra-reply-two"))
    prompt: Any = [{"role": "user", "content": f"quartz-zebra-prompt from {EMAIL}"}]
    await client.chat.completions.create(model=CHAT_MODEL, messages=prompt)
    stream = await client.chat.completions.create(model=CHAT_MODEL, messages=prompt, stream=True)
    async for _ in stream:
        pass
    # A control: the ordinary key's bodies are stored, so the search below can find stored text.
    olga.openai_fake.script(Script(reply="walrus-kept-reply"))
    await olga.openai().chat.completions.create(
        model=CHAT_MODEL, messages=[{"role": "user", "content": "walrus"}]
    )

    stored = _store_bytes(olga.running.home)
    assert b"walrus-kept-reply" in stored
    assert b"quartz-zebra" not in stored and EMAIL.encode() not in stored
    # Its violations are kept, as metadata.
    rows = await stored_violations(olga.running.home)
    assert {(r.stage, r.entity, r.action) for r in rows} == {("input", "email", "log")}
    assert len(rows) == 2


async def test_a_redacted_request_is_stored_redacted(olga: Olga) -> None:
    await add_guardrail(olga.running, type="pii", stage="input", action="redact", entities=("email",))
    await add_guardrail(olga.running, type="secrets", stage="input", action="block")
    await olga.openai().chat.completions.create(
        model=CHAT_MODEL, messages=[{"role": "user", "content": f"mail {EMAIL}"}]
    )
    with pytest.raises(openai.UnprocessableEntityError):
        await olga.openai().chat.completions.create(
            model=CHAT_MODEL, messages=[{"role": "user", "content": f"key {OPENAI_KEY} of {EMAIL}"}]
        )
    stored = _store_bytes(olga.running.home)
    assert b"[EMAIL]" in stored and b"[OPENAI_API_KEY]" in stored
    assert EMAIL.encode() not in stored and OPENAI_KEY.encode() not in stored


async def test_violations_show_in_the_cli_and_the_generation_record(olga: Olga) -> None:
    await add_guardrail(olga.running, type="secrets", stage="output", action="block", name="no-leaks")
    olga.openai_fake.script(Script(reply=f"here: {OPENAI_KEY}"))
    await post_stream(
        olga.running.v1 + "/chat/completions",
        olga.key,
        {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "key?"}], "stream": True},
    )
    result = await olga_async("guardrails", "violations", "--json", "--key", "tester")
    assert result.exit_code == 0, result.output
    [violation] = json.loads(result.stdout)
    assert violation["guardrail"] == "no-leaks" and violation["key_name"] == "tester"
    assert (violation["stage"], violation["entity"], violation["action"]) == (
        "output",
        "openai_api_key",
        "block",
    )
    assert (violation["start"], violation["end"]) == (6, 6 + len(OPENAI_KEY))
    assert OPENAI_KEY not in result.stdout

    record = await olga.generation(violation["generation_id"])
    assert [(g["guardrail"], g["entity"], g["start"]) for g in record["guardrails"]] == [
        ("no-leaks", "openai_api_key", 6)
    ]
    shown = await olga_async("generation", violation["generation_id"], "--json")
    assert json.loads(shown.stdout)["guardrails"] == record["guardrails"]
    assert OPENAI_KEY not in shown.stdout


async def _redacts(olga: Olga) -> bool:
    await olga.openai().chat.completions.create(
        model=CHAT_MODEL, messages=[{"role": "user", "content": EMAIL}]
    )
    return bool(olga.openai_fake.last.body["messages"][0]["content"] == "[EMAIL]")


async def _within_a_second(olga: Olga, *, redacting: bool) -> float:
    started = time.monotonic()
    while await _redacts(olga) != redacting:
        assert time.monotonic() - started < PROMISE, "the running server did not pick up the change"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_guardrails_added_and_removed_with_the_cli_apply_to_a_running_server(olga: Olga) -> None:
    assert not await _redacts(olga)
    added = await olga_async(
        "guardrails",
        "add",
        "--global",
        "--type",
        "pii",
        "--stage",
        "input",
        "--action",
        "redact",
        "--entities",
        "email",
        "--json",
    )
    assert added.exit_code == 0, added.output
    await _within_a_second(olga, redacting=True)
    removed = await olga_async("guardrails", "remove", str(json.loads(added.stdout)["id"]))
    assert removed.exit_code == 0, removed.output
    await _within_a_second(olga, redacting=False)


async def test_translated_responses_items_are_stored_with_the_record_but_never_for_a_zdr_key(
    olga: Olga,
) -> None:
    db = await open_store(olga.running.home / "olga.db")
    try:
        _, zdr_key = await db.keys.create_key(name="private-items", zdr=True)
        await olga.running.refresh()
        made = {}
        for name, key in (("zdr", zdr_key), ("kept", olga.key)):
            answer = await olga.openai(api_key=key).responses.create(model=CLAUDE, input="Say hi.")
            made[name] = next(item.id for item in answer.output if item.type == "message")
        assert await db.records.response_items([made["zdr"]]) == []
        [kept] = await db.records.response_items([made["kept"]])
        assert kept["id"] == made["kept"] and kept["type"] == "message"
    finally:
        await db.close()

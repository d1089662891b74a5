"""Automatic prompt caching for Anthropic targets, measured on a recorded 20-turn agent session.

A Chat Completions client (the openai SDK, no caching code) runs the session through olga to a fake
Anthropic that caches as Anthropic documents it. With ``[caching] auto`` (the default) olga places the
breakpoints; the input cost falls by the factor cache reads and writes predict, and every answer is
the one the same session gets without caching.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from anthropic import AsyncAnthropic
from openai import AsyncOpenAI

from olga_cli.providers.prompt_cache import has_cache_control, with_breakpoints
from tests.cli.terminal import olga_async
from tests.fakes.anthropic_cache import CachingAnthropic
from tests.fakes.anthropic_upstream import Reply, ToolUse
from tests.fakes.gateway import configure, point_anthropic_at, start_gateway

SESSION = json.loads((Path(__file__).parent / "data" / "agent_session_20_turns.json").read_text())
MODEL = "anthropic/claude-sonnet-4-5"  # $3/M input, $0.30/M cache read, $3.75/M cache write


def test_breakpoints_go_on_tools_system_and_the_last_two_user_turns() -> None:
    body = {
        "model": "m",
        "max_tokens": 10,
        "tools": [{"name": "a", "input_schema": {}}, {"name": "b", "input_schema": {}}],
        "system": "You are terse.",
        "messages": [
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "s"}, {"type": "text", "text": "ok"}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x", "content": "r"}, {"type": "text", "text": ""}]},
            {"role": "assistant", "content": "fine"},
            {"role": "user", "content": "three"},
        ],
    }  # fmt: skip
    out, placed = with_breakpoints(body)
    assert placed == 4 and not has_cache_control(body)  # the caller's body is left as it was
    assert "cache_control" in out["tools"][1] and "cache_control" not in out["tools"][0]
    assert out["system"] == [
        {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}
    ]
    assert out["messages"][4]["content"] == [
        {"type": "text", "text": "three", "cache_control": {"type": "ephemeral"}}
    ]
    tool_turn = out["messages"][2]["content"]
    assert "cache_control" in tool_turn[0] and "cache_control" not in tool_turn[1]  # never an empty text
    assert not has_cache_control(out["messages"][0]) and not has_cache_control(out["messages"][1])
    mine = {**body, "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}]}
    assert with_breakpoints(mine) == (mine, 0)  # a caller's own breakpoints are left alone


@pytest.fixture
async def cache_fake() -> AsyncIterator[CachingAnthropic]:
    fake = await CachingAnthropic().start()
    yield fake
    await fake.close()


def _reply(turn: dict[str, Any], index: int) -> Reply:
    call = turn["reply"]["tool_call"]
    uses = [ToolUse(call["name"], call["arguments"], id=f"toolu_{index:02d}")] if call else []
    return Reply(text=turn["reply"]["text"], tool_uses=uses)


async def _run_session(
    client: AsyncOpenAI, fake: CachingAnthropic, headers: dict[str, str]
) -> list[tuple[str, str]]:
    """The recorded session, turn by turn as an agent sends it; returns (answer, generation id) per turn."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": SESSION["system"]}]
    answers = []
    previous: dict[str, Any] | None = None
    for index, turn in enumerate(SESSION["turns"]):
        if previous is not None and previous["reply"]["tool_call"]:
            messages.append(
                {"role": "tool", "tool_call_id": f"toolu_{index - 1:02d}", "content": previous["tool_result"]}
            )
        if turn["user"]:
            messages.append({"role": "user", "content": turn["user"]})
        fake.replies.append(_reply(turn, index))
        raw = await client.chat.completions.with_raw_response.create(
            model=MODEL,
            messages=messages,
            tools=SESSION["tools"],
            max_tokens=200,
            extra_headers=headers,  # type: ignore[arg-type]
        )
        reply = raw.parse()
        message = reply.choices[0].message
        messages.append(message.model_dump(exclude_none=True, exclude={"refusal", "annotations", "audio"}))
        answers.append((message.content or "", raw.headers["x-olga-generation-id"]))
        previous = turn
    return answers


async def _costs(ids: list[str]) -> list[dict[str, Any]]:
    records = []
    for gen in ids:
        result = await olga_async("generation", gen, "--json")
        records.append(json.loads(result.stdout))
    return records


async def test_a_chat_client_gets_anthropic_prompt_caching_on_a_20_turn_session(
    home: Path, cache_fake: CachingAnthropic, api_key: str
) -> None:
    point_anthropic_at(home, cache_fake.url)
    running = await start_gateway(home)
    try:
        client = AsyncOpenAI(base_url=running.v1, api_key=api_key, max_retries=0)
        cached = await _run_session(client, cache_fake, {})
        cache_fake.cache.clear()
        plain = await _run_session(client, cache_fake, {"x-olga-cache": "off"})
    finally:
        await running.close()
    assert [a for a, _ in cached] == [a for a, _ in plain]  # the same answers, turn by turn
    with_cache = await _costs([g for _, g in cached])
    without = await _costs([g for _, g in plain])
    assert all(r["tokens_cached"] == 0 and r["tokens_cache_write"] == 0 for r in without)
    assert [r["tokens_prompt"] for r in with_cache] == [r["tokens_prompt"] for r in without]
    # From the second turn on, nearly all the prompt is read back from the cache.
    for record in with_cache[2:]:
        assert record["tokens_cached"] > 0.8 * record["tokens_prompt"], record
    # Input cost: each token priced once, at $3, $0.30 (read) or $3.75 (write) per million.
    output = Decimal(15) * 20 / 10**6  # the same 20 output tokens a turn in both runs
    input_with = sum(Decimal(r["cost"]) - output for r in with_cache)
    input_without = sum(Decimal(r["cost"]) - output for r in without)
    expected_with = sum(
        (Decimal(r["tokens_prompt"] - r["tokens_cached"] - r["tokens_cache_write"]) * 3
         + Decimal(r["tokens_cached"]) * Decimal("0.3") + Decimal(r["tokens_cache_write"]) * Decimal("3.75")) / 10**6
        for r in with_cache
    )  # fmt: skip
    assert input_with == expected_with
    assert input_without == Decimal(sum(r["tokens_prompt"] for r in without) * 3) / 10**6
    factor = input_with / input_without
    assert factor < Decimal("0.3"), factor  # a tenth for what is read, a quarter more for what is new
    saved = sum(Decimal(r["cache_saved"]) for r in with_cache)
    assert saved == input_without - input_with
    assert all(r["cache_saved"] == "0" for r in without)
    # The saving is shown where money is: each generation, and the usage totals.
    shown = await olga_async("generation", cached[5][1])
    assert "saved by prompt caching" in shown.stdout and with_cache[5]["cache_saved"] in shown.stdout
    totals = json.loads((await olga_async("usage", "--json")).stdout)["totals"]
    assert Decimal(totals["cache_saved"]) == saved
    on_terminal = await olga_async("usage", env={"TTY_COMPATIBLE": "1"})
    assert "prompt caching saved" in on_terminal.stdout


async def test_caching_off_by_config_and_per_key_and_never_over_the_callers_own(
    home: Path, cache_fake: CachingAnthropic, api_key: str
) -> None:
    point_anthropic_at(home, cache_fake.url)
    configure(home, caching={"auto": True, "off_for_keys": ["tester"]})
    running = await start_gateway(home)
    try:
        client = AsyncOpenAI(base_url=running.v1, api_key=api_key, max_retries=0)
        await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
        assert not has_cache_control(cache_fake.seen[-1].body)  # the key "tester" is off
        await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}], extra_headers={"x-olga-cache": "auto"}
        )
        assert has_cache_control(cache_fake.seen[-1].body)  # asked for by the request
        anthropic = AsyncAnthropic(base_url=running.url, api_key=api_key, max_retries=0)
        own = [{"type": "text", "text": "S" * 40, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
        await anthropic.messages.create(
            model=MODEL,
            max_tokens=10,
            system=own,
            messages=[{"role": "user", "content": "hi"}],  # type: ignore[arg-type]
            extra_headers={"x-olga-cache": "auto"},
        )
        sent = cache_fake.seen[-1].body
        assert sent["system"] == own and sent["messages"] == [{"role": "user", "content": "hi"}]
    finally:
        await running.close()
    configure(home, caching={"auto": False, "off_for_keys": []})
    running = await start_gateway(home)
    try:
        anthropic = AsyncAnthropic(base_url=running.url, api_key=api_key, max_retries=0)
        await anthropic.messages.create(
            model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
        assert not has_cache_control(cache_fake.seen[-1].body)  # [caching] auto = false
    finally:
        await running.close()

"""Affordable requests: a key whose balance cannot cover a request's worst case still gets an answer,
with a lower maximum output (``x-olga-max-tokens``), as long as that is a useful answer; its balance
never goes below zero. A $0.50 key carries a Claude Code session on claude-sonnet-4-5 until its money
is spent, instead of refusing the first turn."""

from __future__ import annotations

from pathlib import Path

from olga_cli.money import usd_to_pico
from tests.clients.support import fixture, start_three
from tests.fakes.gateway import store_totals

SONNET = "anthropic/claude-sonnet-4-5"


async def test_a_half_dollar_key_carries_a_claude_code_session_until_its_money_is_spent(home: Path) -> None:
    three, fakes = await start_three(home, credits_usd="0.50")
    try:
        turn = fixture("claude_code_sonnet_turn2")  # 134 KB, max_tokens 32000, thinking 31999
        # What one real turn of a cached Claude Code session reports: most of the prompt read from cache.
        usage = {"input_tokens": 3, "cache_read_input_tokens": 30_000, "cache_creation_input_tokens": 800}
        answered, statuses, lowered = 0, [], []
        for _ in range(200):
            three.anthropic.reply(text="Done.", output_tokens=400, **usage)
            status, headers, _ = await three.send(turn, model=SONNET)
            statuses.append(status)
            if status != 200:
                break
            answered += 1
            if "x-olga-max-tokens" in headers:
                lowered.append(int(headers["x-olga-max-tokens"]))
        sent = [body for _, _, body in three.anthropic.requests]
        key_id = three.key_id
    finally:
        await three.running.close()
        for fake in fakes:
            await fake.close()
    # $0.50 at ~$0.0166 a turn: the key served about thirty turns, and refused the next with 402.
    assert answered >= 25 and statuses[-1] == 402
    assert lowered and lowered[0] < 32000  # the very first turn already could not cover 32,000 tokens
    # Each lowered request went out asking for what it could pay, its thinking budget within it.
    for body in sent:
        thinking = body["thinking"]
        assert thinking["type"] == "disabled" or thinking["budget_tokens"] < body["max_tokens"]
    credits, spent = await store_totals(home, key_id)
    assert spent <= credits == usd_to_pico("0.50")  # never below zero
    assert credits - spent < usd_to_pico("0.05")  # and really spent: less than 10% left

"""Automatic prompt caching for Anthropic: cache breakpoints placed for callers that set none.

Anthropic caches a prompt's prefix only up to blocks marked ``cache_control``; a cached input token
then costs a tenth of the price, and writing one costs a quarter more. Callers that speak Chat
Completions or Responses cannot mark anything, and many Messages callers do not, so an agent session
pays full price for the same tools, system prompt and history on every turn.

When a request carries no ``cache_control`` anywhere, olga marks, within Anthropic's limit of four:

1. the last tool definition (caches every tool),
2. the last block of the system prompt,
3. the last block of the last two user turns: the newest writes the whole conversation so far, the
   one before it is where the previous turn's write is read back (Anthropic looks back only about
   twenty blocks from a breakpoint, fewer than an agent's turn can hold).

A caller that placed its own breakpoints knows better and is left alone. Pure: dicts in, dicts out.
"""

from __future__ import annotations

import copy
from typing import Any

MAX_BREAKPOINTS = 4
EPHEMERAL = {"type": "ephemeral"}
_UNMARKABLE = frozenset({"thinking", "redacted_thinking"})  # Anthropic refuses cache_control on these


def has_cache_control(value: Any) -> bool:
    """Whether the caller placed any breakpoint itself (anywhere in tools, system or messages)."""
    if isinstance(value, dict):
        return "cache_control" in value or any(has_cache_control(v) for v in value.values())
    if isinstance(value, list):
        return any(has_cache_control(v) for v in value)
    return False


def with_breakpoints(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """A copy of a Messages request with breakpoints placed, and how many; the body itself if none fit
    or the caller placed its own."""
    if any(has_cache_control(body.get(part)) for part in ("tools", "system", "messages")):
        return body, 0
    out = copy.deepcopy(body)
    placed = 0
    tools = out.get("tools")
    if isinstance(tools, list) and tools and isinstance(tools[-1], dict):
        tools[-1]["cache_control"] = dict(EPHEMERAL)
        placed += 1
    system = out.get("system")
    if isinstance(system, str) and system:
        out["system"] = [{"type": "text", "text": system, "cache_control": dict(EPHEMERAL)}]
        placed += 1
    elif isinstance(system, list) and _mark_last(system):
        placed += 1
    messages = out.get("messages")
    if isinstance(messages, list):
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        for message in reversed(users[-2:]):
            if placed < MAX_BREAKPOINTS and _mark_message(message):
                placed += 1
    return (out, placed) if placed else (body, 0)


def _mark_message(message: dict[str, Any]) -> bool:
    content = message.get("content")
    if isinstance(content, str):
        if not content:
            return False
        message["content"] = [{"type": "text", "text": content, "cache_control": dict(EPHEMERAL)}]
        return True
    return isinstance(content, list) and _mark_last(content)


def _mark_last(blocks: list[Any]) -> bool:
    """Mark the last block that may carry a breakpoint (not thinking, not an empty text)."""
    for block in reversed(blocks):
        if not isinstance(block, dict) or block.get("type") in _UNMARKABLE:
            continue
        if block.get("type") == "text" and not block.get("text"):
            continue
        block["cache_control"] = dict(EPHEMERAL)
        return True
    return False

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
    """A Messages request with breakpoints placed, and how many; the body itself if none fit or the
    caller placed its own. The body is not changed: only the lists and blocks on the way to a new
    breakpoint are copied (an agent's body is 100-200 KB; a deep copy of it cost more than the rest of
    olga's work on the request)."""
    # System and messages first: callers that mark anything mark those, so the walk stops early.
    if any(has_cache_control(body.get(part)) for part in ("system", "messages", "tools")):
        return body, 0
    out = dict(body)
    placed = 0
    tools = out.get("tools")
    if isinstance(tools, list) and tools and isinstance(tools[-1], dict):
        out["tools"] = [*tools[:-1], {**tools[-1], "cache_control": dict(EPHEMERAL)}]
        placed += 1
    system = out.get("system")
    if isinstance(system, str) and system:
        out["system"] = [{"type": "text", "text": system, "cache_control": dict(EPHEMERAL)}]
        placed += 1
    elif isinstance(system, list) and (marked := _mark_last(system)) is not None:
        out["system"] = marked
        placed += 1
    messages = out.get("messages")
    if isinstance(messages, list):
        messages = out["messages"] = list(messages)
        users = [i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"]
        for index in reversed(users[-2:]):
            if placed < MAX_BREAKPOINTS and (message := _mark_message(messages[index])) is not None:
                messages[index] = message
                placed += 1
    return (out, placed) if placed else (body, 0)


def _mark_message(message: dict[str, Any]) -> dict[str, Any] | None:
    """A copy of the message with its last markable block marked; None if it has none."""
    content = message.get("content")
    if isinstance(content, str):
        if not content:
            return None
        return {**message, "content": [{"type": "text", "text": content, "cache_control": dict(EPHEMERAL)}]}
    marked = _mark_last(content) if isinstance(content, list) else None
    return None if marked is None else {**message, "content": marked}


def _mark_last(blocks: list[Any]) -> list[Any] | None:
    """A copy of ``blocks`` with the last block that may carry a breakpoint (not thinking, not an empty
    text) marked; None if there is none."""
    for index in range(len(blocks) - 1, -1, -1):
        block = blocks[index]
        if not isinstance(block, dict) or block.get("type") in _UNMARKABLE:
            continue
        if block.get("type") == "text" and not block.get("text"):
            continue
        return [*blocks[:index], {**block, "cache_control": dict(EPHEMERAL)}, *blocks[index + 1 :]]
    return None

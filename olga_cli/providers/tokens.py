"""Token estimates, for when a provider reports no usage and for the built-in mock provider.

A word or a punctuation mark counts as one token: close to what BPE tokenizers give for English, and
stable, so estimated charges are reproducible.
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def texts_of(value: Any) -> list[str]:
    """Every string inside a JSON value (messages, content blocks, tool arguments...)."""
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(v for k, v in item.items() if k not in ("type", "role", "id", "tool_call_id"))
        elif isinstance(item, list):
            stack.extend(item)
    return found


def estimate_prompt_tokens(body: dict[str, Any]) -> int:
    """Prompt tokens of a request body: its texts plus a few tokens of framing per message."""
    parts: list[Any] = [body.get(k) for k in ("messages", "system", "input", "instructions", "tools")]
    messages = body.get("messages")
    framing = 3 * len(messages) if isinstance(messages, list) else 0
    return sum(count_tokens(t) for t in texts_of(parts)) + framing

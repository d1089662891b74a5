"""Reasoning across APIs: effort levels <-> thinking budgets, and Anthropic thinking blocks carried
through a Responses client as reasoning items.

A Responses client (Codex) keeps the reasoning items it is given, ``encrypted_content`` included,
and sends them back on the next turn. For an Anthropic model olga puts each thinking block (its text
and signature, or a redacted block's data) in ``encrypted_content`` under olga's own prefix, and turns
it back into the same block on the way in, so the signature reaches Anthropic intact. A reasoning
item olga did not make (another provider's) cannot be turned into a thinking block and is dropped.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from olga_cli.providers.translate_common import JSON

_PREFIX = "olga.thinking.v1."

# Thinking budgets for an effort level: Anthropic's minimum is 1024; the rest double per level.
_BUDGETS: dict[str, int] = {"low": 2048, "medium": 8192, "high": 16384, "xhigh": 32768, "max": 32768}
_EFFORTS = ("low", "medium", "high")


def effort_of(thinking: Any, output_config: Any) -> str | None:
    """The reasoning effort a Messages request asks for (``thinking`` and ``output_config.effort``),
    in OpenAI's words; None when it asks for no reasoning."""
    effort = output_config.get("effort") if isinstance(output_config, dict) else None
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind == "disabled":
        return None
    if isinstance(effort, str):
        return "high" if effort in ("max", "xhigh") else effort if effort in _EFFORTS else "medium"
    if kind == "adaptive":
        return "medium"
    if kind == "enabled":
        budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
        if not isinstance(budget, int):
            return "medium"
        return "low" if budget <= 4096 else "medium" if budget <= 12288 else "high"
    return None


def thinking_for(effort: Any, max_tokens: int) -> JSON | None:
    """Anthropic's ``thinking`` for an OpenAI effort level, within ``max_tokens``; None for no thinking
    (``minimal``/``none``, or too small a max_tokens to leave room for an answer)."""
    budget = _BUDGETS.get(str(effort))
    if budget is None or max_tokens < 2048:
        return None
    return {"type": "enabled", "budget_tokens": max(1024, min(budget, max_tokens // 2))}


def encode_thinking(block: JSON) -> str:
    """A thinking or redacted_thinking block -> the ``encrypted_content`` of a reasoning item."""
    if block.get("type") == "redacted_thinking":
        kept: JSON = {"type": "redacted_thinking", "data": block.get("data", "")}
    else:
        kept = {
            "type": "thinking",
            "thinking": block.get("thinking", ""),
            "signature": block.get("signature", ""),
        }
    raw = json.dumps(kept, separators=(",", ":")).encode()
    return _PREFIX + base64.urlsafe_b64encode(raw).decode()


def decode_thinking(value: Any) -> JSON | None:
    """The thinking block inside ``encrypted_content`` olga made; None for anything else."""
    if not isinstance(value, str) or not value.startswith(_PREFIX):
        return None
    try:
        block = json.loads(base64.urlsafe_b64decode(value[len(_PREFIX) :].encode()))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(block, dict):
        return None
    if block.get("type") == "thinking" and isinstance(block.get("signature"), str) and block["signature"]:
        return {
            "type": "thinking",
            "thinking": str(block.get("thinking", "")),
            "signature": block["signature"],
        }
    if block.get("type") == "redacted_thinking" and isinstance(block.get("data"), str):
        return {"type": "redacted_thinking", "data": block["data"]}
    return None


def reasoning_item(item_id: str, block: JSON) -> JSON:
    """A Responses reasoning item carrying ``block``; its summary shows the thinking text."""
    text = str(block.get("thinking", "")) if block.get("type") == "thinking" else ""
    summary = [{"type": "summary_text", "text": text}] if text else []
    return {
        "id": item_id,
        "type": "reasoning",
        "summary": summary,
        "encrypted_content": encode_thinking(block),
    }

"""The built-in ``mock`` provider: answers in OpenAI's wire format with no network and no key.

``mock/echo`` replies with the last user message (cut at ``max_tokens``), streaming too, with usage
counted by olga's own estimator, so a fresh install can be tried and tested offline.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

from olga_cli.providers.sse import DONE, encode_event
from olga_cli.providers.tokens import count_tokens, estimate_prompt_tokens

_PIECES = re.compile(r"\S+\s*|\s+")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def echo_text(body: dict[str, Any]) -> tuple[str, str]:
    """The reply and its finish reason."""
    messages = body.get("messages") or []
    last = next((m for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"), None)
    text = _text_of(last.get("content")) if last else ""
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(limit, int) and limit > 0 and count_tokens(text) > limit:
        pieces, kept = _PIECES.findall(text), list[str]()
        for piece in pieces:
            if count_tokens("".join(kept + [piece])) > limit:
                break
            kept.append(piece)
        return "".join(kept), "length"
    return text, "stop"


def _usage(body: dict[str, Any], reply: str) -> dict[str, int]:
    prompt, completion = estimate_prompt_tokens(body), count_tokens(reply)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def chat_completion(body: dict[str, Any], model: str) -> dict[str, Any]:
    reply, finish = echo_text(body)
    return {
        "id": "chatcmpl-mock" + secrets.token_hex(12),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply, "refusal": None},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": _usage(body, reply),
        "system_fingerprint": "olga-mock",
    }


def chat_stream(body: dict[str, Any], model: str) -> Iterator[bytes]:
    """The same answer as OpenAI streams it: a role chunk, content chunks, a finish chunk, usage, [DONE]."""
    reply, finish = echo_text(body)
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    base = {
        "id": "chatcmpl-mock" + secrets.token_hex(12),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "olga-mock",
    }
    extra = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return encode_event({**base, "choices": [choice], **extra})

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    for piece in _PIECES.findall(reply):
        yield chunk({"content": piece})
    yield chunk({}, finish)
    if include_usage:
        yield encode_event({**base, "choices": [], "usage": _usage(body, reply)})
    yield DONE


def embeddings(body: dict[str, Any], model: str) -> dict[str, Any]:
    inputs = body.get("input")
    items = inputs if isinstance(inputs, list) else [inputs]
    data = []
    tokens = 0
    for index, item in enumerate(items):
        text = item if isinstance(item, str) else " ".join(map(str, item or []))
        tokens += count_tokens(text)
        # A deterministic unit-free vector derived from the text, so equal inputs embed equally.
        seed = sum(text.encode()) or 1
        data.append(
            {
                "object": "embedding",
                "index": index,
                "embedding": [((seed * (i + 7)) % 97) / 97 for i in range(8)],
            }
        )
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }

"""Realistic provider streams, built the way each provider sends them (for the stream tests).

The Anthropic side comes from the fake Anthropic upstream (``tests/fakes/anthropic_upstream.py``),
so the translators are tested against the very bytes the integration tests serve.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from olga_cli.providers.sse import DONE, encode_event


@dataclass
class ChatCall:
    name: str
    arguments: dict[str, Any]
    id: str = ""


@dataclass
class ChatScript:
    """One OpenAI Chat Completions streamed answer."""

    text: str = ""
    calls: Sequence[ChatCall] = ()
    finish_reason: str = "stop"
    prompt_tokens: int = 20
    completion_tokens: int = 9
    cached_tokens: int = 0
    include_usage: bool = True
    text_chunk: int = 4
    args_chunk: int = 6
    refusal: str = ""
    id: str = "chatcmpl-test123"
    extra_chunks: list[dict[str, Any]] = field(default_factory=list)


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), max(size, 1))]


def chat_stream(script: ChatScript, *, model: str = "gpt-4o-mini-2024-07-18") -> bytes:
    """The SSE bytes OpenAI sends for ``script``: role chunk, deltas, finish chunk, usage chunk, [DONE]."""

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        body: dict[str, Any] = {
            "id": script.id,
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": "fp_test",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if script.include_usage:
            body["usage"] = None
        body.update(extra)
        return encode_event(body)

    first: dict[str, Any] = {
        "role": "assistant",
        "content": "" if not script.calls else None,
        "refusal": None,
    }
    out = [chunk(first)]
    for piece in _pieces(script.text, script.text_chunk):
        out.append(chunk({"content": piece}))
    for piece in _pieces(script.refusal, script.text_chunk):
        out.append(chunk({"refusal": piece}))
    for i, call in enumerate(script.calls):
        head = {
            "index": i,
            "id": call.id or f"call_{i:03d}abc",
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        out.append(chunk({"tool_calls": [head]}))
        for piece in _pieces(json.dumps(call.arguments), script.args_chunk):
            out.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
    out.extend(encode_event(extra) for extra in script.extra_chunks)
    out.append(chunk({}, script.finish_reason))
    if script.include_usage:
        usage = {
            "prompt_tokens": script.prompt_tokens,
            "completion_tokens": script.completion_tokens,
            "total_tokens": script.prompt_tokens + script.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": script.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        body = json.loads(chunk({}).decode()[len("data: ") :])
        body["choices"] = []
        body["usage"] = usage
        out.append(encode_event(body))
    out.append(DONE)
    return b"".join(out)

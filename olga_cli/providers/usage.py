"""Token usage in one shape, whatever API reported it.

``prompt_tokens`` counts every input token at any rate (OpenAI's ``prompt_tokens``; Anthropic's
``input_tokens + cache_read_input_tokens + cache_creation_input_tokens``). ``cached_tokens`` and
``cache_write_tokens`` are the parts of it priced at the cache rates, so each input token is priced
exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    estimated: bool = False
    reasoning_tokens: int = 0  # the part of completion_tokens spent thinking

    @property
    def plain_completion_tokens(self) -> int:
        return max(self.completion_tokens - self.reasoning_tokens, 0)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def uncached_prompt_tokens(self) -> int:
        return max(self.prompt_tokens - self.cached_tokens - self.cache_write_tokens, 0)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def from_openai(usage: Any) -> Usage | None:
    """Chat Completions or Embeddings ``usage`` (also the Responses API's ``input_tokens`` names).

    OpenAI counts cache reads and writes inside ``prompt_tokens``; they are clamped so that the parts
    never add up to more than the whole (each input token is priced once).
    """
    if not isinstance(usage, dict):
        return None
    prompt = _int(usage.get("prompt_tokens", usage.get("input_tokens")))
    completion = _int(usage.get("completion_tokens", usage.get("output_tokens")))
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
    if not isinstance(details, dict):
        details = {}
    cached = min(_int(details.get("cached_tokens")), prompt)
    written = min(_int(details.get("cache_write_tokens")), prompt - cached)
    out = usage.get("completion_tokens_details") or usage.get("output_tokens_details") or {}
    reasoning = min(_int(out.get("reasoning_tokens")), completion) if isinstance(out, dict) else 0
    return Usage(prompt, completion, cached, written, reasoning_tokens=reasoning)


def from_anthropic(usage: Any) -> Usage | None:
    """Anthropic ``usage``: cache reads and writes come on top of ``input_tokens``."""
    if not isinstance(usage, dict):
        return None
    read = _int(usage.get("cache_read_input_tokens"))
    write = _int(usage.get("cache_creation_input_tokens"))
    return Usage(
        _int(usage.get("input_tokens")) + read + write, _int(usage.get("output_tokens")), read, write
    )


def to_openai(usage: Usage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cached_tokens or usage.cache_write_tokens:
        body["prompt_tokens_details"] = {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        }
    if usage.reasoning_tokens:
        body["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return body


def to_anthropic(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.uncached_prompt_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
        "output_tokens": usage.completion_tokens,
    }


def to_responses(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.prompt_tokens,
        # The openai SDK's ResponseUsage requires both details.
        "input_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }

"""Anthropic's Messages wire format when caller and provider both speak it.

The body goes upstream as the caller wrote it (``cache_control``, thinking blocks and their signatures
untouched), with only the model name changed; the answer and the stream come back byte for byte.
olga reads what it meters on the way: usage from ``message_start`` (input, cache reads and writes) and
``message_delta`` (output, cumulative), the stop reason, the message id and the answer's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from olga_cli import jsonwire
from olga_cli.providers.relay import Facts, error_message
from olga_cli.providers.sse import SSEEvent
from olga_cli.providers.usage import from_anthropic

# Fields olga reads itself and never sends upstream.
OLGA_FIELDS = ("models",)

# Caller headers that carry meaning for Anthropic and go upstream with the request.
FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")

# Usage fields Anthropic reports; message_delta repeats them cumulatively.
_USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def forwarded_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The caller's ``anthropic-version`` and ``anthropic-beta`` (any case), as Anthropic spells them."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in FORWARDED_HEADERS and value:
            out[lower] = value
    return out


def prepare_messages(body: dict[str, Any], upstream_model: str, *, default_max_tokens: int) -> dict[str, Any]:
    """The body to send upstream: the provider's model name; ``max_tokens`` (required by Anthropic)
    filled in when the caller sent none. Everything else stays as the caller wrote it, in order."""
    out = {k: (upstream_model if k == "model" else v) for k, v in body.items() if k not in OLGA_FIELDS}
    out.setdefault("max_tokens", default_max_tokens)
    return out


def prepare_count_tokens(body: dict[str, Any], upstream_model: str) -> dict[str, Any]:
    return {k: (upstream_model if k == "model" else v) for k, v in body.items() if k not in OLGA_FIELDS}


def _text_of(content: Any) -> str:
    if not isinstance(content, list):
        return ""
    return "".join(
        str(block.get("text", ""))
        for block in content
        if isinstance(block, dict) and block.get("type") == "text"
    )


def message_facts(response: Any) -> Facts:
    if not isinstance(response, dict):
        return Facts()
    return Facts(
        usage=from_anthropic(response.get("usage")),
        finish_reason=response.get("stop_reason"),
        upstream_id=response.get("id"),
        model=response.get("model"),
        text=_text_of(response.get("content")),
    )


class MessagesPassthroughRelay:
    """Forwards an Anthropic stream event by event, byte for byte.

    ``message_stop`` is held back until ``finish``, so that the caller sees the stream end only after
    the record is committed. An ``error`` event is forwarded as it came and ends the stream.
    """

    __slots__ = ("_counts", "_parts", "_stop", "facts")

    def __init__(self) -> None:
        self.facts = Facts()
        self._counts: dict[str, int] = {}
        self._parts: list[str] = []
        self._stop: bytes | None = None

    def feed(self, event: SSEEvent) -> list[bytes]:
        kind = event.event
        if kind == "ping" or not event.data:
            return [event.raw]
        try:
            data = jsonwire.loads_event(event.data)
        except ValueError:
            return [event.raw]
        if not isinstance(data, dict):
            return [event.raw]
        kind = kind or data.get("type")
        if kind == "message_start":
            message = data.get("message") or {}
            self.facts.upstream_id = message.get("id")
            self.facts.model = message.get("model")
            self._count(message.get("usage"))
        elif kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta":
                self._parts.append(str(delta.get("text", "")))
        elif kind == "message_delta":
            delta = data.get("delta") or {}
            if delta.get("stop_reason"):
                self.facts.finish_reason = delta["stop_reason"]
            self._count(data.get("usage"))
        elif kind == "message_stop":
            self._stop = event.raw
            return []
        elif kind == "error":
            self.facts.error = error_message(data)
        return [event.raw]

    def _count(self, usage: Any) -> None:
        if isinstance(usage, dict):
            for name in _USAGE_FIELDS:
                value = usage.get(name)
                if isinstance(value, int) and not isinstance(value, bool):
                    self._counts[name] = value
            self.facts.usage = from_anthropic(self._counts)

    def finish(self) -> list[bytes]:
        self.facts.text = "".join(self._parts)
        stop, self._stop = self._stop, None
        return [stop] if stop is not None else []

"""OpenAI's wire format (Chat Completions, Embeddings) when caller and provider both speak it."""

from __future__ import annotations

import re
from typing import Any

from olga_cli import jsonwire
from olga_cli.providers.relay import Facts, error_message
from olga_cli.providers.sse import DONE, SSEEvent
from olga_cli.providers.usage import from_openai

# `"usage": null` as OpenAI adds it to every chunk of a stream that asked for usage (never inside a
# string, where its quotes would be escaped).
_NULL_USAGE = re.compile(rb',\s*"usage"\s*:\s*null(?=\s*[,}])|"usage"\s*:\s*null\s*,')

# Fields olga reads itself and never sends upstream.
OLGA_FIELDS = ("models",)


def prepare_chat(body: dict[str, Any], upstream_model: str) -> dict[str, Any]:
    """The body to send upstream: the provider's model name, and usage always asked for in streams."""
    out = {k: v for k, v in body.items() if k not in OLGA_FIELDS}
    out["model"] = upstream_model
    if out.get("stream"):
        options = dict(out.get("stream_options") or {})
        options["include_usage"] = True
        out["stream_options"] = options
    return out


def prepare_embeddings(body: dict[str, Any], upstream_model: str) -> dict[str, Any]:
    out = {k: v for k, v in body.items() if k not in OLGA_FIELDS}
    out["model"] = upstream_model
    return out


def chat_facts(response: Any) -> Facts:
    if not isinstance(response, dict):
        return Facts()
    choices = response.get("choices") or []
    first = choices[0] if choices and isinstance(choices[0], dict) else {}
    message = first.get("message") or {}
    text = message.get("content") if isinstance(message.get("content"), str) else ""
    return Facts(
        usage=from_openai(response.get("usage")),
        finish_reason=first.get("finish_reason"),
        upstream_id=response.get("id"),
        model=response.get("model"),
        text=text or "",
    )


def embeddings_facts(response: Any) -> Facts:
    if not isinstance(response, dict):
        return Facts()
    return Facts(usage=from_openai(response.get("usage")), model=response.get("model"))


def without_null_usage(raw: bytes) -> bytes:
    """An event without the ``"usage": null`` olga's usage request added. The compact spelling every
    provider sends is cut by a plain replace (a quarter of the expression's time, on every word of a
    stream); the expression takes any other."""
    if b',"usage":null' in raw:
        raw = raw.replace(b',"usage":null,', b",").replace(b',"usage":null}', b"}")
        if b'"usage"' not in raw:
            return raw
    return _NULL_USAGE.sub(b"", raw)


class ChatPassthroughRelay:
    """Forwards an OpenAI stream event by event, byte for byte, keeping only olga's own usage request
    invisible: the usage-only chunk is hidden from a caller that did not ask for it."""

    __slots__ = ("_client_wants_usage", "_parts", "facts")

    def __init__(self, *, client_wants_usage: bool) -> None:
        self.facts = Facts()
        self._client_wants_usage = client_wants_usage
        self._parts: list[str] = []

    def feed(self, event: SSEEvent) -> list[bytes]:
        data = event.data
        if data == "[DONE]":
            return []  # sent by finish(), after the record is committed
        try:
            chunk = jsonwire.loads_event(data)
        except ValueError:
            return [event.raw]
        if not isinstance(chunk, dict):
            return [event.raw]
        facts = self.facts
        if "error" in chunk:
            facts.error = error_message(chunk)
            return [event.raw]
        if not facts.upstream_id:  # Azure's first chunk (prompt filter results) has an empty id
            facts.upstream_id = chunk.get("id") or None
            facts.model = chunk.get("model") or None
        usage = chunk.get("usage")
        choices = chunk.get("choices")
        if choices:
            for choice in choices:
                if not isinstance(choice, dict):
                    continue
                delta = choice.get("delta") or {}
                content = delta.get("content")
                if isinstance(content, str) and choice.get("index", 0) == 0:
                    self._parts.append(content)
                if choice.get("finish_reason"):
                    facts.finish_reason = choice["finish_reason"]
        if usage:
            facts.usage = from_openai(usage)
            if not choices and not self._client_wants_usage:
                return []
        if not self._client_wants_usage and "usage" in chunk:
            # olga asked for usage, not the caller: its chunks go out without the "usage": null it added.
            return [without_null_usage(event.raw)]
        return [event.raw]

    def finish(self) -> list[bytes]:
        self.facts.text = "".join(self._parts)
        return [DONE]

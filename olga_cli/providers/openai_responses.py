"""OpenAI's Responses wire format when caller and provider both speak it.

The body goes upstream as the caller wrote it, with the provider's model name; the Response (and its
id, so that ``previous_response_id`` keeps working) comes back as the provider made it, and a stream
event by event, byte for byte. Usage is read from the Response object, which in a stream arrives with
``response.completed`` (or ``response.incomplete`` / ``response.failed``).

``finish_reason`` is recorded in Chat's words (``stop``, ``length``, ``tool_calls``...), as it is for a
Responses request translated to another API.
"""

from __future__ import annotations

from typing import Any

from olga_cli import jsonwire
from olga_cli.providers.relay import Facts, error_message
from olga_cli.providers.sse import SSEEvent
from olga_cli.providers.usage import from_openai

OLGA_FIELDS = ("models",)

# Events that end a Response stream; held back until the record is committed.
TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})

_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


def prepare_responses(body: dict[str, Any], upstream_model: str) -> dict[str, Any]:
    return {k: (upstream_model if k == "model" else v) for k, v in body.items() if k not in OLGA_FIELDS}


def finish_reason_of(response: dict[str, Any]) -> str | None:
    """A Response's outcome in Chat's words."""
    status = response.get("status")
    if status == "completed":
        output = response.get("output") or []
        calls = any(isinstance(item, dict) and item.get("type") == "function_call" for item in output)
        return "tool_calls" if calls else "stop"
    if status == "incomplete":
        details = response.get("incomplete_details") or {}
        reason = details.get("reason") if isinstance(details, dict) else None
        return _INCOMPLETE.get(str(reason), "length")
    if status == "failed":
        return "error"
    return None


def output_text(response: dict[str, Any]) -> str:
    parts: list[str] = []
    for item in response.get("output") or []:
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        for part in item.get("content") or []:
            if isinstance(part, dict) and part.get("type") == "output_text":
                parts.append(str(part.get("text", "")))
    return "".join(parts)


def response_facts(response: Any) -> Facts:
    if not isinstance(response, dict):
        return Facts()
    return Facts(
        usage=from_openai(response.get("usage")),
        finish_reason=finish_reason_of(response),
        upstream_id=response.get("id"),
        model=response.get("model"),
        text=output_text(response),
    )


class ResponsesPassthroughRelay:
    """Forwards a Responses stream event by event, byte for byte, holding back only its last event."""

    __slots__ = ("_end", "_parts", "facts")

    def __init__(self) -> None:
        self.facts = Facts()
        self._parts: list[str] = []
        self._end: bytes | None = None

    def feed(self, event: SSEEvent) -> list[bytes]:
        if not event.data:
            return [event.raw]
        try:
            data = jsonwire.loads_event(event.data)
        except ValueError:
            return [event.raw]
        if not isinstance(data, dict):
            return [event.raw]
        kind = data.get("type", event.event)
        if kind == "response.output_text.delta":
            self._parts.append(str(data.get("delta", "")))
            return [event.raw]
        response = data.get("response")
        if isinstance(response, dict):
            facts = self.facts
            facts.upstream_id = response.get("id") or facts.upstream_id
            facts.model = response.get("model") or facts.model
            usage = from_openai(response.get("usage"))
            if usage is not None:
                facts.usage = usage
            facts.finish_reason = finish_reason_of(response) or facts.finish_reason
        if kind == "error" or kind == "response.failed":
            self.facts.error = self.facts.error or error_message(
                data.get("response", data) if kind != "error" else data
            )
        if kind in TERMINAL_EVENTS:
            self._end = event.raw
            return []
        return [event.raw]

    def finish(self) -> list[bytes]:
        self.facts.text = "".join(self._parts)
        end, self._end = self._end, None
        return [end] if end is not None else []

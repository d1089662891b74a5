"""The Response object and its output items, as the OpenAI Responses API returns them.

Shared by the non-streamed translation and the stream translator, which both echo the caller's
request settings (instructions, tools, temperature, metadata...) in the Response, as OpenAI does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from olga_cli.providers import item_memory, namespaces
from olga_cli.providers import usage as usage_mod
from olga_cli.providers.translate_common import JSON
from olga_cli.providers.usage import Usage


def response_status(finish_reason: str | None) -> tuple[str, JSON | None]:
    """A Chat finish_reason -> the Response ``status`` and ``incomplete_details``."""
    if finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def responses_usage(usage: Usage) -> JSON:
    body = usage_mod.to_responses(usage)
    body["input_tokens_details"]["cache_write_tokens"] = usage.cache_write_tokens
    return body


def response_object(
    request: Mapping[str, Any],
    *,
    response_id: str,
    model: str,
    created_at: int,
    status: str,
    output: list[JSON],
    usage: Usage | None,
    incomplete_details: JSON | None = None,
    error: JSON | None = None,
) -> JSON:
    """A Response object echoing ``request``'s settings, as OpenAI returns it."""
    if status in ("completed", "incomplete"):
        item_memory.remember(output)  # for a later item_reference to them
    text: JSON = request["text"] if isinstance(request.get("text"), dict) else {}
    reasoning: JSON = request["reasoning"] if isinstance(request.get("reasoning"), dict) else {}
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": incomplete_details,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "max_tool_calls": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": None,
        "reasoning": {"effort": reasoning.get("effort"), "summary": None},
        "service_tier": request.get("service_tier") or "default",
        "store": False,
        "temperature": request.get("temperature", 1.0),
        "text": {"format": {"type": "text"}, "verbosity": "medium", **text},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": list(request.get("tools") or []),
        "top_p": request.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": responses_usage(usage) if usage is not None else None,
        "user": request.get("user"),
        "metadata": dict(request.get("metadata") or {}),
    }


def message_item(item_id: str, text: str, *, refusal: bool, status: str) -> JSON:
    part: JSON = (
        {"type": "refusal", "refusal": text}
        if refusal
        else {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    )
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": [part]}


def call_item(
    item_id: str,
    call_id: str,
    name: str,
    arguments: str,
    *,
    status: str,
    names: Mapping[str, tuple[str, str]] | None = None,
) -> JSON:
    """A function_call item; ``names`` maps a flattened namespace tool back (``namespaces``)."""
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call_id,
        **namespaces.call_fields(name, names or {}),
    }

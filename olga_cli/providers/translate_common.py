"""Pieces every API translator shares: the stream-translator protocol, stop-reason maps, data URLs,
tool-argument parsing and the small checks that turn an untranslatable field into a TranslationError.

The translators are pure: dicts in, dicts (or encoded SSE bytes) out, no I/O. A field that the target
API cannot express raises ``TranslationError`` naming it in ``param`` (a JSON path such as
``messages[2].content[0].type``); nothing is dropped silently. The few fields that are dropped on
purpose are hints that change nothing in the answer (prompt-cache keys, ``cache_control``, image
``detail``); each translator lists them where it drops them.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any, Literal, Protocol

from olga_cli import jsonwire
from olga_cli.errors import TranslationError, UpstreamError
from olga_cli.providers.sse import SSEEvent
from olga_cli.providers.usage import Usage

Api = Literal["chat", "messages", "responses"]
"""The three wire APIs olga speaks: OpenAI Chat Completions, Anthropic Messages, OpenAI Responses."""

JSON = dict[str, Any]


class StreamTranslator(Protocol):
    """Turns a provider's stream, event by event, into the caller's API.

    ``feed`` returns the encoded SSE bytes to send to the client now; ``finish`` closes the stream in
    the caller's API once the provider's stream has ended cleanly; ``fail`` closes it with a
    well-formed mid-stream error instead (when the provider failed or went silent). After the
    provider sent its own error event, ``error`` is set and ``finish`` returns nothing more.
    """

    @property
    def usage(self) -> Usage | None: ...

    @property
    def finish_reason(self) -> str | None:
        """Why the answer ended, as the caller's API names it (Chat's names for a Responses caller)."""

    @property
    def upstream_id(self) -> str | None: ...

    @property
    def text(self) -> str: ...

    @property
    def error(self) -> JSON | None: ...

    def feed(self, event: SSEEvent) -> list[bytes]: ...

    def finish(self) -> list[bytes]: ...

    def fail(self, message: str, *, type: str = "api_error", code: str | None = None) -> list[bytes]: ...


# Anthropic stop_reason -> Chat finish_reason. pause_turn only follows server tools, which olga never
# sends to Anthropic from a chat request, so "stop" is the honest reading of it.
ANTHROPIC_TO_CHAT_FINISH: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",
}

# Chat finish_reason -> Anthropic stop_reason. Chat does not say whether a stop sequence matched, so
# "stop" reads as end_turn; the caller that knows the matched sequence may refine it.
CHAT_TO_ANTHROPIC_STOP: dict[str, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

ANTHROPIC_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def refuse(param: str, message: str) -> TranslationError:
    """The error for a field that cannot be carried over; ``message`` says what to do instead."""
    return TranslationError(message, param=param)


def is_set(value: Any) -> bool:
    """A field counts as sent unless it is absent, null, empty or false."""
    return value not in (None, False, "", [], {})


def as_list(value: Any, param: str) -> list[Any]:
    if not isinstance(value, list):
        raise refuse(param, f"`{param}` must be a list.")
    return value


def as_dict(value: Any, param: str) -> JSON:
    if not isinstance(value, dict):
        raise refuse(param, f"`{param}` must be an object.")
    return value


def parse_data_url(url: str, param: str) -> tuple[str, str]:
    """``data:image/png;base64,AAAA`` -> (media type, base64 data)."""
    head, sep, data = url.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        raise refuse(param, "An inline image must be a base64 data URL (data:image/png;base64,...).")
    media_type = head[len("data:") : -len(";base64")]
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise refuse(param, "The image data URL does not hold valid base64.") from None
    return media_type, data


def data_url(media_type: str, data: str) -> str:
    return f"data:{media_type};base64,{data}"


def parse_tool_arguments(arguments: Any, param: str) -> JSON:
    """A Chat tool call's ``arguments`` (a JSON string) -> Anthropic's ``input`` (an object)."""
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments) if isinstance(arguments, str) else None
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise refuse(param, "Tool call arguments must be a JSON object encoded as a string.")
    return value


def provider_tool_arguments(arguments: Any) -> JSON:
    """Tool arguments produced by a provider; invalid JSON there is the provider's failure, not the caller's."""
    try:
        return parse_tool_arguments(arguments, "arguments")
    except TranslationError:
        raise UpstreamError(
            "The provider returned tool call arguments that are not a JSON object; retry the request."
        ) from None


def dump_arguments(value: Any) -> str:
    return jsonwire.dumps_text(value)


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def now() -> int:
    return int(time.time())


def text_of_parts(content: Any, param: str, *, allowed: frozenset[str] = frozenset({"text"})) -> str:
    """Join a string or a list of text parts (Chat ``{"type": "text"}`` style) into one string."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    pieces: list[str] = []
    for i, part in enumerate(as_list(content, param)):
        part = as_dict(part, f"{param}[{i}]")
        kind = part.get("type")
        if kind not in allowed:
            raise refuse(f"{param}[{i}].type", f"Content of type {kind!r} cannot be used here; send text.")
        pieces.append(str(part.get("text", part.get("refusal", ""))))
    return "".join(pieces)


def refuse_unknown(body: Mapping[str, Any], known: frozenset[str], *, target: str, prefix: str = "") -> None:
    """Refuse any field this translator does not know, rather than lose it on the way."""
    for name in body:
        if name not in known:
            raise refuse(
                f"{prefix}{name}",
                f"`{prefix}{name}` cannot be translated for a provider that speaks {target}; remove it or "
                "route the request to a provider that speaks the API you are calling.",
            )


def chunk_json(event: SSEEvent) -> Any:
    """Decode a Chat chunk event; ``None`` for the ``[DONE]`` sentinel or an empty event."""
    data = event.data.strip()
    if not data or data == "[DONE]":
        return None
    return jsonwire.loads_event(data)

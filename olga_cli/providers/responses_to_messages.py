"""OpenAI Responses caller, Anthropic Messages provider: the two translators composed through Chat.

Responses -> Chat -> Messages on the way in, Messages -> Chat -> Responses on the way back. Chat is
the common ground of the three APIs, so composing costs nothing in fidelity that either step alone
would keep; a refusal from the second step names the Responses field where the two differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from olga_cli.errors import TranslationError
from olga_cli.providers import item_memory
from olga_cli.providers.chat_to_messages import (
    MessagesStreamToChat,
    chat_request_to_messages,
    messages_response_to_chat,
)
from olga_cli.providers.policy import Notes, TargetTraits
from olga_cli.providers.reasoning import reasoning_item
from olga_cli.providers.responses_to_chat import (
    ChatStreamToResponses,
    chat_response_to_responses,
    responses_request_to_chat,
)
from olga_cli.providers.sse import SSEEvent
from olga_cli.providers.translate_common import JSON, new_id
from olga_cli.providers.usage import Usage

# Chat field -> the Responses field it came from, for what the Chat -> Messages step notes or refuses.
_RESPONSES_PARAM = {
    "reasoning_effort": "reasoning.effort",
    "verbosity": "text.verbosity",
    "response_format.type": "text.format.type",
    "response_format": "text.format",
    "response_format.json_schema.schema": "text.format.schema",
    "max_completion_tokens": "max_output_tokens",
    "max_tokens": "max_output_tokens",
}


def responses_request_to_messages(
    body: JSON,
    *,
    upstream_model: str,
    default_max_tokens: int,
    notes: Notes | None = None,
    traits: TargetTraits | None = None,
) -> JSON:
    """A Responses request body -> an Anthropic Messages request body for ``upstream_model``."""
    notes = notes if notes is not None else Notes("responses", "messages")
    notes.renames.update(_RESPONSES_PARAM)
    traits = traits or TargetTraits()
    # The first step carries effort and the maximum over untouched: the second decides on them.
    chat = responses_request_to_chat(
        body,
        upstream_model=upstream_model,
        notes=notes,
        traits=TargetTraits(reasoning=True),
        carry_thinking=True,
    )
    try:
        return chat_request_to_messages(
            chat,
            upstream_model=upstream_model,
            default_max_tokens=default_max_tokens,
            notes=notes,
            traits=traits,
            carry_thinking=True,
        )
    except TranslationError as error:
        if error.param in _RESPONSES_PARAM:
            error.param = _RESPONSES_PARAM[error.param]
            for chat_name, responses_name in _RESPONSES_PARAM.items():
                if f"`{chat_name}`" in error.message:
                    error.message = error.message.replace(f"`{chat_name}`", f"`{responses_name}`")
            error.args = (error.message,)
        raise


def messages_response_to_responses(
    resp: JSON, *, model: str, request: Mapping[str, Any], created_at: int | None = None
) -> JSON:
    """An Anthropic Message -> a Response object named ``model``, echoing ``request``'s settings;
    thinking blocks become reasoning items first, so that they come back on the next turn."""
    chat = messages_response_to_chat(resp, model=model, created=created_at)
    out = chat_response_to_responses(chat, model=model, request=request, created_at=created_at)
    thinking = [
        block
        for block in resp.get("content") or []
        if isinstance(block, dict) and block.get("type") in ("thinking", "redacted_thinking")
    ]
    reasoning = [reasoning_item(new_id("rs_"), block) for block in thinking]
    item_memory.remember(reasoning)
    out["output"] = reasoning + out["output"]
    return out


class MessagesStreamToResponses:
    """Anthropic Messages stream events in, the Responses event sequence (encoded SSE) out."""

    def __init__(self, model: str, request: Mapping[str, Any], *, created_at: int | None = None) -> None:
        self._to_chat = MessagesStreamToChat(
            model, include_usage=True, created=created_at, carry_thinking=True
        )
        self._to_responses = ChatStreamToResponses(model, request, created_at=created_at)

    @property
    def usage(self) -> Usage | None:
        return self._to_chat.usage  # Anthropic's own counts, cache writes included

    @property
    def finish_reason(self) -> str | None:
        return self._to_responses.finish_reason

    @property
    def upstream_id(self) -> str | None:
        return self._to_chat.upstream_id

    @property
    def text(self) -> str:
        return self._to_responses.text

    @property
    def error(self) -> JSON | None:
        return self._to_responses.error

    def feed(self, event: SSEEvent) -> list[bytes]:
        out: list[bytes] = []
        for chunk in self._to_chat.feed_chunks(event):
            out += self._to_responses.feed_chunk(chunk)
        return out

    def finish(self) -> list[bytes]:
        out: list[bytes] = []
        for chunk in self._to_chat.finish_chunks():
            out += self._to_responses.feed_chunk(chunk)
        return out + self._to_responses.finish(usage=self._to_chat.usage)

    def fail(self, message: str, *, type: str = "api_error", code: str | None = None) -> list[bytes]:
        return self._to_responses.fail(message, type=type, code=code)

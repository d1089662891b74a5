"""The one entry point for translating between the API a caller speaks and the API a provider speaks.

    caller      provider    request                          response / stream
    chat        messages    chat_to_messages                 chat_to_messages
    messages    chat        messages_to_chat                 messages_to_chat
    responses   chat        responses_to_chat                responses_to_chat
    responses   messages    responses_to_messages (via Chat) responses_to_messages

A caller and provider of the same API need no translation (``needs_translation`` is False): the
gateway forwards bodies and streams as they are. Every function here is pure. What happens to each
field is the policy table's (``policy.POLICY``): meaning translated, hints dropped, capabilities
withheld, each listed in ``Notes``; ``TranslationError`` (400, ``param`` names the field) only where
going on would give a wrong answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from olga_cli.providers import error_shapes
from olga_cli.providers.chat_to_messages import (
    MessagesStreamToChat,
    chat_request_to_messages,
    messages_response_to_chat,
)
from olga_cli.providers.messages_to_chat import (
    ChatStreamToMessages,
    MaxTokensField,
    chat_response_to_messages,
    messages_request_to_chat,
)
from olga_cli.providers.policy import Notes, TargetTraits
from olga_cli.providers.responses_to_chat import (
    ChatStreamToResponses,
    chat_response_to_responses,
    responses_request_to_chat,
)
from olga_cli.providers.responses_to_messages import (
    MessagesStreamToResponses,
    messages_response_to_responses,
    responses_request_to_messages,
)
from olga_cli.providers.translate_common import JSON, Api, StreamTranslator

TRANSLATABLE: frozenset[tuple[Api, Api]] = frozenset(
    {("chat", "messages"), ("messages", "chat"), ("responses", "chat"), ("responses", "messages")}
)


def needs_translation(caller: Api, provider: Api) -> bool:
    """False when the provider speaks the caller's API; raises ValueError for a pair olga cannot join."""
    if caller == provider:
        return False
    if (caller, provider) not in TRANSLATABLE:
        raise ValueError(f"no translation from {caller} callers to {provider} providers")
    return True


def translate_request(
    body: JSON,
    *,
    caller: Api,
    provider: Api,
    upstream_model: str,
    default_max_tokens: int,
    max_tokens_field: MaxTokensField = "max_completion_tokens",
    notes: Notes | None = None,
    traits: TargetTraits | None = None,
) -> JSON:
    """The caller's request body in the provider's API, for ``upstream_model``.

    ``default_max_tokens`` fills Anthropic's required ``max_tokens`` when the caller sent no limit;
    ``max_tokens_field`` names the limit field a Chat provider takes. ``notes`` collects what the
    policy (``policy.POLICY``) dropped, withheld or changed; ``traits`` describe the target model.
    """
    needs_translation(caller, provider)
    notes = notes if notes is not None else Notes(caller, provider)
    if (caller, provider) == ("chat", "messages"):
        return chat_request_to_messages(
            body,
            upstream_model=upstream_model,
            default_max_tokens=default_max_tokens,
            notes=notes,
            traits=traits,
        )
    if (caller, provider) == ("messages", "chat"):
        return messages_request_to_chat(
            body, upstream_model=upstream_model, max_tokens_field=max_tokens_field, notes=notes, traits=traits
        )
    if (caller, provider) == ("responses", "chat"):
        return responses_request_to_chat(
            body, upstream_model=upstream_model, max_tokens_field=max_tokens_field, notes=notes, traits=traits
        )
    return responses_request_to_messages(
        body, upstream_model=upstream_model, default_max_tokens=default_max_tokens, notes=notes, traits=traits
    )


def translate_response(
    resp: JSON, *, caller: Api, provider: Api, model: str, request: Mapping[str, Any]
) -> JSON:
    """The provider's (successful, non-streamed) answer in the caller's API.

    ``model`` is the model name to show the caller; ``request`` is the caller's original request body
    (the Responses API echoes its settings).
    """
    needs_translation(caller, provider)
    if (caller, provider) == ("chat", "messages"):
        return messages_response_to_chat(resp, model=model)
    if (caller, provider) == ("messages", "chat"):
        return chat_response_to_messages(resp, model=model)
    if (caller, provider) == ("responses", "chat"):
        return chat_response_to_responses(resp, model=model, request=request)
    return messages_response_to_responses(resp, model=model, request=request)


def stream_translator(
    *, caller: Api, provider: Api, model: str, request: Mapping[str, Any]
) -> StreamTranslator:
    """A fresh translator for one streamed answer; feed it the provider's parsed SSE events."""
    needs_translation(caller, provider)
    if (caller, provider) == ("chat", "messages"):
        options = request.get("stream_options")
        include_usage = bool(options.get("include_usage")) if isinstance(options, dict) else False
        return MessagesStreamToChat(model, include_usage)
    if (caller, provider) == ("messages", "chat"):
        return ChatStreamToMessages(model)
    if (caller, provider) == ("responses", "chat"):
        return ChatStreamToResponses(model, request)
    return MessagesStreamToResponses(model, request)


def translate_error(status: int, body: Any, *, caller: Api) -> JSON:
    """A provider's error body (any shape) in the caller's API shape; the status stays as it came."""
    return error_shapes.map_error(status, body, to="anthropic" if caller == "messages" else "openai")

"""One request's conversation with one provider, for a pair of (caller's API, provider's API).

An ``Exchange`` knows the upstream path and body, how to turn the provider's answer into the caller's,
and how to relay a stream. Same-API pairs pass bytes through untouched; other pairs translate
(``providers.translate``), provider errors included (``convert_error``)::

    caller      openai / openai-compatible / azure / mock    anthropic
    chat        passthrough                                  translated (Messages)
    messages    translated (Chat)                            passthrough
    responses   passthrough (openai), else via Chat          translated (Messages)
    embeddings  passthrough                                  -

An Azure provider gets the same bodies at its deployments' URLs (``providers.azure``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from olga_cli import jsonwire
from olga_cli.catalog import DEFAULT_MAX_OUTPUT
from olga_cli.config import CachingConfig, ProviderConfig
from olga_cli.errors import InvalidRequest, UpstreamError
from olga_cli.gateway.upstream.routing import Target
from olga_cli.providers import anthropic, azure, gemini, openai, openai_responses, prompt_cache
from olga_cli.providers.gemini_stream import GeminiStreamThroughChat, GeminiStreamToChat
from olga_cli.providers.messages_to_chat import MaxTokensField
from olga_cli.providers.policy import Notes, TargetTraits
from olga_cli.providers.relay import Facts, StreamRelay, TranslatedRelay
from olga_cli.providers.translate import (
    stream_translator,
    translate_error,
    translate_request,
    translate_response,
)
from olga_cli.providers.translate_common import Api as WireApi
from olga_cli.store.keys import KeyRow

Api = Literal["chat", "messages", "responses", "embeddings"]


@dataclass(slots=True)
class Converted:
    body: bytes
    facts: Facts
    content_type: str = "application/json"


@dataclass(slots=True)
class Exchange:
    path: str
    body: dict[str, Any]
    convert: Callable[[bytes], Converted]
    relay: Callable[[], StreamRelay] | None = None
    convert_error: Callable[[int, bytes], bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    # What the translation dropped, withheld or changed (policy.POLICY), in the caller's words.
    dropped: list[str] = field(default_factory=list)
    # The caller's own bytes for the body's large members, written as they came where unchanged.
    spans: jsonwire.Spans | None = None


def _passthrough(facts_of: Callable[[Any], Facts], listed: str) -> Callable[[bytes], Converted]:
    """The answer as it came, once it is what the API promises: a JSON object whose ``listed`` field
    (``choices``, ``content``...) is a list. Anything else (an HTML page, an empty body, a stream for
    a call that asked for none) raises ``ValueError``: the caller gets a 502, not a 200 of garbage."""

    def convert(raw: bytes) -> Converted:
        parsed = jsonwire.loads(raw)
        if not isinstance(parsed, dict):
            raise ValueError("the answer is not a JSON object")
        if not isinstance(parsed.get(listed), list):
            raise ValueError(f"the answer's '{listed}' is not a list")
        return Converted(raw, facts_of(parsed))

    return convert


def _chat_to_openai(body: dict[str, Any], target: Target, headers: dict[str, str]) -> Exchange:
    wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    return Exchange(
        path="/chat/completions",
        body=openai.prepare_chat(body, target.upstream_model),
        convert=_passthrough(openai.chat_facts, "choices"),
        relay=lambda: openai.ChatPassthroughRelay(client_wants_usage=wants_usage),
    )


def _embeddings_to_openai(body: dict[str, Any], target: Target, headers: dict[str, str]) -> Exchange:
    return Exchange(
        path="/embeddings",
        body=openai.prepare_embeddings(body, target.upstream_model),
        convert=_passthrough(openai.embeddings_facts, "data"),
    )


def _messages_to_anthropic(body: dict[str, Any], target: Target, headers: dict[str, str]) -> Exchange:
    """Same API: the body as the caller wrote it, its anthropic-version and anthropic-beta headers too."""
    return Exchange(
        path="/v1/messages",
        body=anthropic.prepare_messages(
            body, target.upstream_model, default_max_tokens=default_max_tokens(target)
        ),
        convert=_passthrough(anthropic.message_facts, "content"),
        relay=anthropic.MessagesPassthroughRelay,
        headers=anthropic.forwarded_headers(headers),
    )


def served_as_responses(target: Target) -> bool:
    """Whether a Responses request goes to ``target`` as it is (OpenAI's own API, which keeps the
    items it makes); any other provider's answer is translated, its items made by olga."""
    return target.provider.api_format == "openai" and target.provider.kind == "openai"


def _responses_to_openai(body: dict[str, Any], target: Target, headers: dict[str, str]) -> Exchange:
    if not served_as_responses(target):
        # The mock and OpenAI-compatible servers speak Chat Completions only.
        return _translated(body, target, caller="responses", provider="chat", path="/chat/completions")
    return Exchange(
        path="/responses",
        body=openai_responses.prepare_responses(body, target.upstream_model),
        convert=_passthrough(openai_responses.response_facts, "output"),
        relay=openai_responses.ResponsesPassthroughRelay,
    )


def _messages_to_openai(body: dict[str, Any], target: Target, headers: dict[str, str]) -> Exchange:
    return _translated(body, target, caller="messages", provider="chat", path="/chat/completions")


def _chat_to_anthropic(body: dict[str, Any], target: Target, headers: dict[str, str]) -> Exchange:
    return _translated(body, target, caller="chat", provider="messages", path="/v1/messages")


def _responses_to_anthropic(body: dict[str, Any], target: Target, headers: dict[str, str]) -> Exchange:
    return _translated(body, target, caller="responses", provider="messages", path="/v1/messages")


# Anthropic requires max_tokens. When a caller sends none, olga asks for the model's maximum output,
# capped: a long enough answer for nearly any request, short enough that a non-streamed answer comes
# back within the provider's time limits. (Credits are reserved for the model's full maximum anyway.)
MAX_TOKENS_CAP = 16384


def default_max_tokens(target: Target) -> int:
    return min(target.entry.max_output_tokens or DEFAULT_MAX_OUTPUT, MAX_TOKENS_CAP)


def _max_tokens_field(provider: ProviderConfig) -> MaxTokensField:
    # OpenAI's current models want max_completion_tokens; compatible servers mostly know only max_tokens.
    return "max_completion_tokens" if provider.kind in ("openai", "azure") else "max_tokens"


def _translated(
    body: dict[str, Any], target: Target, *, caller: WireApi, provider: WireApi, path: str
) -> Exchange:
    """A pair that translates: the request now (a ``TranslationError`` names a field that cannot go),
    the answer, the stream and the provider's errors on the way back."""
    notes = Notes(caller, provider)
    upstream = translate_request(
        body,
        caller=caller,
        provider=provider,
        upstream_model=target.upstream_model,
        default_max_tokens=default_max_tokens(target),
        max_tokens_field=_max_tokens_field(target.provider),
        notes=notes,
        traits=TargetTraits(reasoning=target.entry.reasoning, max_output=target.entry.max_output_tokens),
    )

    def convert(raw: bytes) -> Converted:
        answer = _json_object(raw, target)
        facts = anthropic.message_facts(answer) if provider == "messages" else openai.chat_facts(answer)
        shown = facts.model or target.upstream_model
        out = translate_response(answer, caller=caller, provider=provider, model=shown, request=body)
        facts.finish_reason = _finish_reason(caller, out)
        return Converted(jsonwire.dumps(out), facts)

    def relay() -> StreamRelay:
        translator = stream_translator(
            caller=caller, provider=provider, model=target.upstream_model, request=body
        )
        return TranslatedRelay(translator)

    return Exchange(
        path=path,
        body=upstream,
        convert=convert,
        relay=relay,
        convert_error=_error_converter(caller),
        dropped=notes.dropped,
    )


def _finish_reason(caller: WireApi, out: dict[str, Any]) -> str | None:
    """How the translated answer ended, in the caller's API (Chat's words for a Responses caller)."""
    if caller == "responses":
        return openai_responses.finish_reason_of(out)
    choices = out.get("choices") or [{}]
    reason = out.get("stop_reason") if caller == "messages" else choices[0].get("finish_reason")
    return str(reason) if reason is not None else None


def _to_gemini(caller: WireApi) -> Builder:
    def build(body: dict[str, Any], target: Target, headers: dict[str, str]) -> Exchange:
        return _gemini(body, target, caller=caller)

    return build


def _gemini(body: dict[str, Any], target: Target, *, caller: WireApi) -> Exchange:
    """Gemini speaks none of the callers' APIs: a Chat request is translated to it, a Messages or
    Responses request to Chat first; answers, streams and errors come back the same way."""
    chat = body
    dropped: list[str] = []
    if caller != "chat":
        notes = Notes(caller, "chat")
        chat = translate_request(
            body,
            caller=caller,
            provider="chat",
            upstream_model=target.upstream_model,
            default_max_tokens=default_max_tokens(target),
            max_tokens_field="max_tokens",
            notes=notes,
            traits=TargetTraits(reasoning=target.entry.reasoning, max_output=target.entry.max_output_tokens),
        )
        dropped = notes.dropped
    upstream = gemini.chat_request_to_gemini(chat, dropped=dropped)
    model = target.upstream_model

    def convert(raw: bytes) -> Converted:
        answer = _json_object(raw, target)
        usage = gemini.usage_of(answer.get("usageMetadata"))
        as_chat = gemini.gemini_response_to_chat(answer, model=model)
        out = as_chat
        if caller != "chat":
            out = translate_response(
                as_chat, caller=caller, provider="chat", model=as_chat["model"], request=body
            )
        text = as_chat["choices"][0]["message"].get("content") or ""
        facts = Facts(
            usage=usage, upstream_id=answer.get("responseId"), model=answer.get("modelVersion"), text=text
        )
        facts.finish_reason = _finish_reason(caller, out)
        return Converted(jsonwire.dumps(out), facts)

    def relay() -> StreamRelay:
        if caller == "chat":
            wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return TranslatedRelay(GeminiStreamToChat(model, wants_usage))
        return TranslatedRelay(GeminiStreamThroughChat(model, caller, body))

    return Exchange(
        path=gemini.generate_path(model, stream=bool(body.get("stream"))),
        body=upstream,
        convert=convert,
        relay=relay,
        convert_error=_error_converter(caller),
        dropped=dropped,
    )


def _json_object(raw: bytes, target: Target) -> dict[str, Any]:
    try:
        answer = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        answer = None
    if not isinstance(answer, dict):
        raise UpstreamError(
            f"Provider '{target.provider.name}' sent an answer that is not a JSON object; retry."
        )
    return answer


def _error_converter(caller: WireApi) -> Callable[[int, bytes], bytes]:
    def convert_error(status: int, raw: bytes) -> bytes:
        try:
            parsed: Any = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            parsed = raw
        return jsonwire.dumps(translate_error(status, parsed, caller=caller))

    return convert_error


Builder = Callable[[dict[str, Any], Target, dict[str, str]], Exchange]

# (caller's API, provider's API format) -> builder.
BUILDERS: dict[tuple[str, str], Builder] = {
    ("chat", "openai"): _chat_to_openai,
    ("chat", "anthropic"): _chat_to_anthropic,
    ("messages", "anthropic"): _messages_to_anthropic,
    ("messages", "openai"): _messages_to_openai,
    ("responses", "openai"): _responses_to_openai,
    ("responses", "anthropic"): _responses_to_anthropic,
    ("embeddings", "openai"): _embeddings_to_openai,
    ("chat", "gemini"): _to_gemini("chat"),
    ("messages", "gemini"): _to_gemini("messages"),
    ("responses", "gemini"): _to_gemini("responses"),
}


def make_exchange(
    api: Api,
    target: Target,
    body: dict[str, Any],
    headers: dict[str, str],
    *,
    query: str = "",
    max_output: int | None = None,
    auto_cache: bool = False,
) -> Exchange:
    """The exchange for ``api`` callers and ``target``'s provider. ``query`` (the caller's query
    string) goes along when nothing is translated; ``max_output`` lowers the request's maximum output
    (what the key's balance affords); with ``auto_cache``, a Messages request to an Anthropic provider
    gets cache breakpoints where its caller set none (``providers.prompt_cache``)."""
    builder = BUILDERS.get((api, target.provider.api_format))
    if builder is None:
        raise InvalidRequest(
            f"Provider '{target.provider.name}' speaks the {target.provider.api_format} API, which cannot serve "
            f"/{api} requests; pick a model of another provider."
        )
    if max_output is not None:
        body = with_max_output(body, api, target, max_output)
    exchange = builder(body, target, headers)
    if target.provider.kind == "azure":
        _at_azure(exchange, target)
    elif query and exchange.convert_error is None:  # same API on both sides: the query means the same
        exchange.path = f"{exchange.path}?{query}"
    if (
        auto_cache
        and target.provider.api_format == "anthropic"
        and exchange.path.split("?")[0] == "/v1/messages"
    ):
        exchange.body, _ = prompt_cache.with_breakpoints(exchange.body)
    return exchange


_LIMIT_FIELDS = ("max_tokens", "max_completion_tokens", "max_output_tokens")


def with_max_output(body: dict[str, Any], api: Api, target: Target, limit: int) -> dict[str, Any]:
    """``body`` asking for at most ``limit`` output tokens, in the field its API (and provider) uses."""
    present = [name for name in _LIMIT_FIELDS if isinstance(body.get(name), int)]
    if present:
        body = {**body, **{name: min(body[name], limit) for name in present}}
        return _thinking_within(body, limit) if api == "messages" else body
    if api == "responses":
        name = "max_output_tokens"
    elif api == "messages":
        name = "max_tokens"
    else:
        name = _max_tokens_field(target.provider)
    return {**body, name: limit}


def _thinking_within(body: dict[str, Any], limit: int) -> dict[str, Any]:
    """Anthropic wants a thinking budget below max_tokens: a lowered maximum lowers the budget too,
    to half the answer (at least Anthropic's minimum, 1024), or turns thinking off when too small."""
    thinking = body.get("thinking")
    if not isinstance(thinking, dict):
        return body
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int) or budget < limit:
        return body
    if limit < 2048:
        return {**body, "thinking": {"type": "disabled"}}
    return {**body, "thinking": {**thinking, "budget_tokens": max(1024, limit // 2)}}


def upstream_max_output(exchange: Exchange) -> int | None:
    """The maximum output the upstream request asks for, in whichever field it uses."""
    for name in _LIMIT_FIELDS:
        value = exchange.body.get(name)
        if isinstance(value, int):
            return value
    return None


def _at_azure(exchange: Exchange, target: Target) -> None:
    """The same exchange, sent to the model's Azure deployment."""
    provider = target.provider
    path = azure.azure_path(
        exchange.path,
        model=target.upstream_model,
        deployments=provider.deployments,
        api_version=provider.api_version,
    )
    if path is None:
        raise InvalidRequest(f"Provider '{provider.name}' (Azure OpenAI) does not serve {exchange.path}.")
    exchange.path = path


CACHE_HEADER = "x-olga-cache"


def auto_cache_wanted(caching: CachingConfig, key: KeyRow, headers: Mapping[str, str]) -> bool:
    """``[caching] auto`` unless the key is listed in ``off_for_keys`` or the request says
    ``x-olga-cache: off`` (``x-olga-cache: auto`` asks for it when the config has it off)."""
    asked = (headers.get(CACHE_HEADER) or "").strip().lower()
    if asked in ("off", "false", "0", "no"):
        return False
    if asked in ("auto", "on", "true", "1", "yes"):
        return True
    return caching.auto and key.id not in caching.off_for_keys and key.name not in caching.off_for_keys

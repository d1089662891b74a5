"""Calls passed to a provider without metering: Anthropic's token counting, and the Responses API's
stored responses (``GET``/``DELETE /v1/responses/{id}``).

Neither generates tokens, so neither is charged, held against limits or recorded: counting tokens is
free at Anthropic, and clients such as Claude Code count before most turns, so records of them would
bury the generations in ``olga logs`` and use up request limits meant for generations; a stored
response was recorded (and charged) when it was made. Both still need an active olga key, and token
counting the model's allow-list.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from olga_cli.errors import (
    GuardrailBlocked,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
    UpstreamError,
    UpstreamFailure,
    UpstreamTimeout,
)
from olga_cli.gateway.admission.allowlist import check_allowed
from olga_cli.gateway.admission.auth import authenticate_now
from olga_cli.gateway.relay.screening import screen_request_off_loop
from olga_cli.gateway.snapshot import KeyState
from olga_cli.gateway.state import Gateway
from olga_cli.gateway.upstream.client import ProviderKey, UpstreamReply
from olga_cli.gateway.upstream.provider_errors import scrub
from olga_cli.gateway.upstream.routing import check_available, pinned_provider, target_for
from olga_cli.providers import anthropic
from olga_cli.providers.tokens import estimate_prompt_tokens
from olga_cli.validation import check_body, json_object


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


async def count_tokens(
    gw: Gateway, headers: Mapping[str, str], raw_body: bytes, *, pinned: str | None
) -> Answer:
    """``POST /v1/messages/count_tokens``: the provider's own count for an Anthropic provider; olga's
    estimate (said so in ``x-olga-estimated``) for a provider that has no such endpoint."""
    key = await authenticate_now(gw, headers)
    body, text_checked = json_object(raw_body)
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequest(
            "'model' must be a model name such as 'anthropic/claude-haiku-4-5'.", param="model"
        )
    check_body("count_tokens", body, raw_body, text_checked=text_checked)
    provider = pinned_provider(gw.config, pinned) if pinned else None
    target = target_for(gw.config, gw.catalog, api_format="anthropic", model=model, pinned=provider)
    check_allowed(gw.snapshot, key, target.entry, target.model_id)
    check_available(target)
    await _screen_count(gw, key, body)
    if target.provider.kind != "anthropic":
        estimate = json.dumps({"input_tokens": estimate_prompt_tokens(body)}).encode()
        return Answer(200, {"Content-Type": "application/json", "x-olga-estimated": "true"}, estimate)
    provider_key = gw.keypools.pick(target.provider, now=gw.clock())
    upstream = anthropic.prepare_count_tokens(body, target.upstream_model)
    return await _send(
        target.provider.name,
        provider_key,
        lambda: gw.upstreams.send(
            target.provider,
            provider_key,
            "/v1/messages/count_tokens",
            upstream,
            extra_headers=anthropic.forwarded_headers(headers),
        ),
    )


async def _screen_count(gw: Gateway, key: KeyState, body: dict[str, Any]) -> None:
    """Input guardrails hold for token counting too: the text goes to the provider all the same.

    A block refuses the count (422); a redaction counts the redacted text. Nothing is recorded, as
    for the count itself."""
    guardrails = gw.snapshot.guardrails
    screen = None if guardrails.empty else guardrails.screen(key.row.id, key.row.team_id, "input")
    if screen is None:
        return
    outcome = await screen_request_off_loop("messages", body, screen)
    if outcome.blocked is not None:
        raise GuardrailBlocked(outcome.block_message() or "A guardrail blocked this request's input.")


async def stored_response(
    gw: Gateway,
    headers: Mapping[str, str],
    *,
    method: str,
    response_id: str,
    query: str,
    pinned: str | None,
) -> Answer:
    """``GET``/``DELETE /v1/responses/{id}``, sent to the provider that made the response, with the
    provider key olga uses for it. Only the olga key that made the response can reach it."""
    key = await authenticate_now(gw, headers)
    record = await gw.generation(response_id, key_id=key.row.id)
    if record is None or record.upstream_id != response_id or (pinned and record.provider != pinned):
        raise NotFound(
            f"No response '{response_id}' was made through olga with this key. Responses are found by the id "
            "the provider gave them, and only by the key that made them."
        )
    provider = gw.config.providers.get(record.provider or "")
    if provider is None:
        raise ProviderUnavailable(
            f"Provider '{record.provider}', which made response '{response_id}', is no longer connected."
        )
    if provider.kind != "openai" or not record.endpoint.endswith("/responses"):
        raise NotFound(
            f"Response '{response_id}' was served by '{provider.name}', which speaks another API: olga translated "
            "it and keeps no stored copy. Send the whole conversation in `input` instead."
        )
    provider_key = gw.keypools.pick(provider, now=gw.clock())
    path = f"/responses/{response_id}" + (f"?{query}" if query else "")
    return await _send(
        provider.name,
        provider_key,
        lambda: gw.upstreams.send(provider, provider_key, path, {}, method=method),
    )


async def _send(
    name: str, key: ProviderKey | None, request: Callable[[], Awaitable[UpstreamReply]]
) -> Answer:
    """The provider's answer as it came (an error scrubbed of credentials); olga's own 502/504 when it
    could not be had."""
    try:
        reply = await request()
        raw = await reply.read()
    except UpstreamFailure as failure:
        if failure.is_timeout:
            raise UpstreamTimeout(f"Provider '{name}' timed out ({failure}); try again.") from None
        raise UpstreamError(f"Provider '{name}' failed ({failure}); try again.") from None
    if reply.status >= 400:
        raw = scrub(raw, [key.value if key else None])
    return Answer(reply.status, {"Content-Type": reply.content_type or "application/json"}, raw)

"""One request's conversation with one provider, for a pair of (caller's API, provider's API).

An ``Exchange`` knows the upstream path and body, how to turn the provider's answer into the caller's,
and how to relay a stream. Same-API pairs pass bytes through untouched; other pairs translate.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from olga_cli.errors import InvalidRequest
from olga_cli.gateway.routing import Target
from olga_cli.providers import openai
from olga_cli.providers.relay import Facts, StreamRelay

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


def _passthrough(facts_of: Callable[[Any], Facts]) -> Callable[[bytes], Converted]:
    def convert(raw: bytes) -> Converted:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        return Converted(raw, facts_of(parsed))

    return convert


def _chat_to_openai(body: dict[str, Any], target: Target, headers: dict[str, str]) -> Exchange:
    wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    return Exchange(
        path="/chat/completions",
        body=openai.prepare_chat(body, target.upstream_model),
        convert=_passthrough(openai.chat_facts),
        relay=lambda: openai.ChatPassthroughRelay(client_wants_usage=wants_usage),
    )


def _embeddings_to_openai(body: dict[str, Any], target: Target, headers: dict[str, str]) -> Exchange:
    return Exchange(
        path="/embeddings",
        body=openai.prepare_embeddings(body, target.upstream_model),
        convert=_passthrough(openai.embeddings_facts),
    )


Builder = Callable[[dict[str, Any], Target, dict[str, str]], Exchange]

# (caller's API, provider's API format) -> builder. Other modules register the translated pairs.
BUILDERS: dict[tuple[str, str], Builder] = {
    ("chat", "openai"): _chat_to_openai,
    ("embeddings", "openai"): _embeddings_to_openai,
}


def make_exchange(api: Api, target: Target, body: dict[str, Any], headers: dict[str, str]) -> Exchange:
    builder = BUILDERS.get((api, target.provider.api_format))
    if builder is None:
        raise InvalidRequest(
            f"Provider '{target.provider.name}' speaks the {target.provider.api_format} API, which cannot serve "
            f"/{api} requests; pick a model of another provider."
        )
    return builder(body, target, headers)

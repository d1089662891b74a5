"""A committed generation record as OpenTelemetry GenAI span data (pure: no SDK here).

Attribute names follow the OpenTelemetry semantic conventions for generative AI
(``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.request.model``, ``gen_ai.usage.*`` ...);
what only olga knows (key, team, cost, attempts, guardrails, overhead) is under ``olga.``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from olga_cli.money import PICO_PER_USD
from olga_cli.records import Attempt, GenerationRecord

AttributeValue = str | bool | int | float | Sequence[str]
Attributes = dict[str, AttributeValue]

# Well-known gen_ai.provider.name values; any other provider is named as configured.
_PROVIDER_NAMES = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
    "azure": "azure.ai.openai",
    "groq": "groq",
    "mistral": "mistral_ai",
    "deepseek": "deepseek",
    "xai": "x_ai",
    "perplexity": "perplexity",
}


@dataclass(slots=True)
class SpanEvent:
    name: str
    time_ns: int
    attributes: Attributes = field(default_factory=dict)


# Attributes whose values repeat from one request to the next (operation, provider, model, key, team,
# status...): their values as a flat tuple (hashable, and cheap to build and hash) in the order of
# the names below, so that an encoder can keep their encoding; a None value is an absent attribute.
Shared = tuple[AttributeValue | None, ...]
REQUEST_SHARED = (
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.response.finish_reasons",
    "http.route",
    "http.response.status_code",
    "error.type",
    "olga.key.name",
    "olga.team.id",
    "olga.app",
    "olga.attempts",
    "olga.streamed",
    "olga.usage.estimated",
)
ATTEMPT_SHARED = (  # all of an attempt's attributes repeat: its errors too, mostly
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "olga.provider",
    "http.response.status_code",
    "error.type",
    "olga.provider.key_label",
    "olga.attempt.error",
)


@dataclass(slots=True)
class SpanData:
    name: str
    kind: Literal["server", "client"]
    start_ns: int
    end_ns: int
    shared: Shared  # values of REQUEST_SHARED (a server span) or ATTEMPT_SHARED (a client span)
    attributes: Attributes  # the span's own values: ids, token counts, cost, timings
    events: list[SpanEvent] = field(default_factory=list)
    error: str | None = None  # the span's status is ERROR with this description

    def shared_names(self) -> tuple[str, ...]:
        return REQUEST_SHARED if self.kind == "server" else ATTEMPT_SHARED

    def all_attributes(self) -> Attributes:
        shared = zip(self.shared_names(), self.shared, strict=True)
        return {**{k: v for k, v in shared if v is not None}, **self.attributes}


def provider_name(provider: str | None) -> str:
    return _PROVIDER_NAMES.get(provider or "", provider or "unknown")


def operation_of(endpoint: str) -> str:
    return "embeddings" if endpoint.endswith("/embeddings") else "chat"


def _bare_model(model: str | None, provider: str | None) -> str | None:
    if model and provider and model.startswith(provider + "/"):
        return model[len(provider) + 1 :]
    return model


def request_span(record: GenerationRecord, *, capture: tuple[str | None, str | None] | None) -> SpanData:
    """The span of the whole request, as olga served it (SERVER kind: olga received the call)."""
    operation = operation_of(record.endpoint)
    start = int(record.created_at * 1e9)
    end = start + int(record.latency_ms * 1e6)
    status = record.status
    shared: Shared = (  # REQUEST_SHARED's
        operation,
        provider_name(record.provider),
        record.model_requested,
        _bare_model(record.model, record.provider),
        (record.finish_reason,) if record.finish_reason else None,
        record.endpoint,
        status,
        record.error if status >= 400 else None,
        record.key_name,
        record.team_id,
        record.app,
        len(record.attempts),
        record.streamed,
        record.usage_estimated or None,
    )
    attributes: Attributes = {
        "gen_ai.usage.input_tokens": record.tokens_prompt,
        "gen_ai.usage.output_tokens": record.tokens_completion,
        "olga.generation.id": record.id,
        "olga.cost.usd": record.cost_pico / PICO_PER_USD,  # int / int: correctly rounded, as float(Decimal)
        "olga.cost.pico": record.cost_pico,
        "olga.overhead_ms": round(record.overhead_ms, 3),
    }
    optional: Mapping[str, AttributeValue | None] = {
        "gen_ai.response.id": record.upstream_id,
        "gen_ai.usage.cache_read.input_tokens": record.tokens_cached or None,
        "gen_ai.usage.cache_creation.input_tokens": record.tokens_cache_write or None,
        "olga.request_id": record.request_id,
        "gen_ai.conversation.id": record.session_id or None,
        "olga.end_user": record.end_user or None,
        "olga.tags": list(record.tags) or None,
        "olga.dropped": list(record.dropped) or None,
    }
    _put(attributes, optional)
    if record.guardrails:
        attributes["olga.guardrail.findings"] = len(record.guardrails)
        attributes["olga.guardrail.types"] = sorted({str(g.get("type")) for g in record.guardrails})
    if capture is not None:
        _put(attributes, {"gen_ai.input.messages": capture[0], "gen_ai.output.messages": capture[1]})
    span = SpanData(
        f"{operation} {record.model_requested}",
        "server",
        start,
        end,
        shared,
        attributes,
        error=record.error if status >= 500 or status == 499 else None,
    )
    if record.ttft_ms is not None:
        span.events.append(SpanEvent("olga.first_token", start + int(record.ttft_ms * 1e6)))
    if record.guardrails:
        span.events.extend(_guardrail_events(record.guardrails, end))
    return span


def attempt_spans(record: GenerationRecord) -> list[tuple[Attempt, SpanData]]:
    """A CLIENT span per upstream attempt (skipped targets included, with no duration)."""
    operation = operation_of(record.endpoint)
    request_start = int(record.created_at * 1e9)
    spans: list[tuple[Attempt, SpanData]] = []
    cursor = request_start
    for attempt in record.attempts:
        offset = attempt.started_ms
        start = request_start + int(offset * 1e6) if offset is not None else cursor
        end = start + int(attempt.latency_ms * 1e6)
        cursor = end
        error_type = attempt.error.split(":", 1)[0] if attempt.error else None
        shared: Shared = (  # ATTEMPT_SHARED's
            operation,
            provider_name(attempt.provider),
            attempt.model,
            attempt.provider,
            attempt.status,
            error_type,
            attempt.key_label,
            attempt.error,
        )
        failed = attempt.status is None or attempt.status >= 400
        span = SpanData(
            f"{operation} {attempt.model}",
            "client",
            start,
            end,
            shared,
            {},
            error=(error_type or "failed") if failed else None,
        )
        spans.append((attempt, span))
    return spans


def _guardrail_events(findings: Sequence[Mapping[str, Any]], at_ns: int) -> list[SpanEvent]:
    events = []
    for finding in findings:
        attributes: Attributes = {}
        _put(attributes, {f"olga.guardrail.{k}": _scalar(v) for k, v in finding.items() if k != "offsets"})
        name = "olga.guardrail.block" if finding.get("action") == "block" else "olga.guardrail.finding"
        events.append(SpanEvent(name, at_ns, attributes))
    return events


def _scalar(value: Any) -> AttributeValue | None:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return json.dumps(value, separators=(",", ":"))


def _put(attributes: Attributes, values: Mapping[str, AttributeValue | None]) -> None:
    for name, value in values.items():
        if value is not None:
            attributes[name] = value

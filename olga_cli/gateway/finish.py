"""The end of every request, whichever way it went: the record filled in (usage, cost, the settled
charge), the bodies kept when the config asks, the record committed with what limits counted, and
the response sent when olga answers with an error."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from olga_cli.errors import GatewayError, UpstreamHTTPError
from olga_cli.gateway.admission import metering
from olga_cli.gateway.app_and_session import app_of, session_of
from olga_cli.gateway.call import Call, Context
from olga_cli.gateway.error_response import render
from olga_cli.gateway.sink import Sink
from olga_cli.gateway.snapshot import KeyState
from olga_cli.gateway.state import Gateway
from olga_cli.gateway.upstream.routing import Target
from olga_cli.providers.relay import Facts
from olga_cli.providers.tokens import count_tokens, estimate_prompt_tokens
from olga_cli.providers.usage import Usage
from olga_cli.records import GenerationRecord, new_generation_id
from olga_cli.store.generations import Extra, response_item_insert
from olga_cli.telemetry import traceparent


def team_multiplier(gw: Gateway, key: KeyState) -> Any:
    team = gw.snapshot.teams.get(key.row.team_id) if key.row.team_id else None
    return team.rate_multiplier if team is not None else None


async def client_gone(
    gw: Gateway, ctx: Context, sink: Sink, health: Sequence[Extra], *, charged: bool
) -> None:
    """The caller left before an answer: 499, charged for the prompt if the provider was working on it."""
    if charged:
        fill(gw, ctx, Facts(), status=499, error="client_disconnected")
    else:
        ctx.record.status, ctx.record.error = 499, "client_disconnected"
    store_bodies(gw, ctx, None)
    await commit(gw, ctx, health)
    await sink.send(
        499, headers_for(gw, ctx, "application/json"), b""
    )  # nobody reads it; the server needs one


def fill(gw: Gateway, ctx: Context, facts: Facts, *, status: int, error: str | None = None) -> None:
    """Usage (estimated where the provider gave none), cost, and the settled charge."""
    record = ctx.record
    usage = facts.usage
    if usage is None:
        usage = Usage(estimate_prompt_tokens(ctx.body), count_tokens(facts.text), estimated=True)
    target = serving_target(ctx)
    multiplier = metering.rate_multiplier(ctx.key, team_multiplier(gw, ctx.key))
    cost = target.entry.cost_pico(usage, rate_multiplier=multiplier) if target else 0
    record.status = status
    record.error = error
    # What the provider said, as text whatever type it sent (an id that is an object would poison the record).
    record.finish_reason = _text(facts.finish_reason)
    record.upstream_id = _text(facts.upstream_id)
    if facts.model:
        model = _text(facts.model)
        record.model = f"{record.provider}/{model}" if record.provider else model
    record.tokens_prompt = usage.prompt_tokens
    record.tokens_completion = usage.completion_tokens
    record.tokens_cached = usage.cached_tokens
    record.tokens_cache_write = usage.cache_write_tokens
    record.tokens_reasoning = usage.reasoning_tokens
    record.usage_estimated = usage.estimated
    record.cost_pico = metering.capped(record, cost, ctx.reservation)
    record.catalog_version = gw.catalog.version
    if target is not None and (usage.cached_tokens or usage.cache_write_tokens):
        # The same usage with no cache read or write, at the same multipliers: what caching saved.
        uncached = replace(usage, cached_tokens=0, cache_write_tokens=0)
        record.cache_saved_pico = target.entry.cost_pico(uncached, rate_multiplier=multiplier) - cost


def _text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else str(value)[:200]


def serving_target(ctx: Context) -> Target | None:
    if not ctx.record.attempts:
        return None
    last = ctx.record.attempts[-1]
    return next(
        (t for t in ctx.targets if t.provider.name == last.provider and t.upstream_model == last.model), None
    )


def keeps_bodies(gw: Gateway, ctx: Context) -> bool:
    """Whether what the caller and the model said is stored: bodies on, and not a ZDR key."""
    return gw.config.store_bodies and not ctx.key.row.zdr


def store_bodies(gw: Gateway, ctx: Context, response_text: str | None) -> None:
    trace = ctx.record.trace
    if trace is not None and gw.trace_content and not ctx.key.row.zdr:
        trace.input_text = ctx.call.raw_body.decode("utf-8", "replace")
        trace.output_text = response_text
    if keeps_bodies(gw, ctx):
        if ctx.spans is not None:  # large, UTF-8 (msgspec parsed it), and no guardrail to mask it
            ctx.record.request_raw = ctx.call.raw_body  # decoded by the store, but for its shared part
        else:
            ctx.record.request_body = ctx.call.raw_body.decode("utf-8", "replace")
        ctx.record.response_body = response_text
        if ctx.guard is not None:
            ctx.guard.scrub(ctx.record, ctx.call.raw_body)  # nothing a guardrail blocked or redacted is kept


async def commit(gw: Gateway, ctx: Context, health: Sequence[Extra] = ()) -> None:
    """Write the record, with what goes into the same batch: the key ``health`` failover learnt, the
    guardrails' violations, what limits counted; then announce alerts and tell the observers."""
    record = ctx.record
    if ctx.guard is not None:
        await ctx.guard.take_advice()  # a model that only advises ran beside the upstream call
    now = time.perf_counter()
    record.latency_ms = ms(now - ctx.call.received)
    record.overhead_ms = own_ms(ctx, now)
    settled = gw.limits.settle(ctx.limits, record)  # usage counted and alerts raised, stored with the record
    violations = ctx.guard.statements if ctx.guard is not None else ()
    held = gw.shared.settle(ctx) if gw.shared is not None else ()  # team mode: the hold ends with the charge
    await gw.recorder.write(record, [*health, *violations, *settled.extras, *held, *_items(gw, ctx)])
    if ctx.reservation is not None and not ctx.reservation.settled:
        # Settled from what was committed (the recorder may have had to sanitise it), never before:
        # a record that could not be written leaves no charge in memory that the ledger lacks.
        metering.settle(ctx.reservation, record.cost_pico)
    gw.limits.announce(settled.alerts)
    gw.notify(record)


def _items(gw: Gateway, ctx: Context) -> list[Extra]:
    """The Responses items the answer made, stored where its bodies would be (never for a ZDR key)."""
    if not ctx.items_made or not keeps_bodies(gw, ctx):
        return []
    return [response_item_insert(item, at=ctx.record.created_at) for item in ctx.items_made]


async def finish_with_error(
    gw: Gateway, ctx: Context, sink: Sink, error: GatewayError, health: Sequence[Extra] = ()
) -> None:
    ctx.record.status = error.status
    ctx.record.error = error.code
    if ctx.reservation is not None:
        ctx.reservation.release()
    store_bodies(gw, ctx, error.message)
    await commit(gw, ctx, health)
    status, headers, body = render(ctx.call.shape, error)
    rate_headers = gw.limits.headers(ctx.key, ctx.limits, gw.clock())
    extra = {"x-olga-overhead-ms": overhead_ms(ctx)} if gw.config.overhead_header else {}
    await sink.send(status, {**rate_headers, **headers, "x-olga-generation-id": ctx.record.id, **extra}, body)


async def finish_with_provider_error(
    gw: Gateway, ctx: Context, sink: Sink, error: UpstreamHTTPError, health: Sequence[Extra]
) -> None:
    """The provider's own error, passed through as it came; nothing is charged for it."""
    ctx.record.status = error.status
    ctx.record.error = "provider_error"
    if ctx.reservation is not None:
        ctx.reservation.release()
    store_bodies(gw, ctx, error.body.decode("utf-8", "replace"))
    await commit(gw, ctx, health)
    await sink.send(error.status, {**error.headers, **headers_for(gw, ctx, error.content_type)}, error.body)


def headers_for(gw: Gateway, ctx: Context, content_type: str) -> dict[str, str]:
    rate_headers = ctx.limits.headers if ctx.limits is not None else {}
    headers = {"Content-Type": content_type, "x-olga-generation-id": ctx.record.id, **rate_headers}
    if gw.config.overhead_header:
        headers["x-olga-overhead-ms"] = overhead_ms(ctx)
    if ctx.record.dropped:
        headers["x-olga-dropped"] = ", ".join(ctx.record.dropped)
    if ctx.sent_max_output is not None:
        headers["x-olga-max-tokens"] = str(ctx.sent_max_output)
    return headers


def overhead_ms(ctx: Context) -> str:
    """``x-olga-overhead-ms``: olga's own time so far. Sent with the first byte, so for a stream it is
    the overhead up to its first event."""
    return f"{own_ms(ctx, time.perf_counter()):.3f}"


def own_ms(ctx: Context, now: float) -> float:
    """Time since arrival less the time spent waiting on providers, which is not olga's overhead. An
    attempt whose reply is being relayed has no latency yet: it has been waited on since it began."""
    elapsed = ms(now - ctx.call.received)
    upstream = 0.0
    for attempt in ctx.record.attempts:
        if attempt.latency_ms:
            upstream += attempt.latency_ms
        elif attempt.status is not None and attempt.started_ms is not None:
            upstream += elapsed - attempt.started_ms
    return max(elapsed - upstream, 0.0)


def new_record(gw: Gateway, call: Call, key: KeyState) -> GenerationRecord:
    headers = call.headers
    model = ""
    return GenerationRecord(
        id=new_generation_id(),
        created_at=gw.clock(),
        key_id=key.row.id,
        key_name=key.row.name,
        team_id=key.row.team_id,
        endpoint=call.endpoint,
        model_requested=model,
        app=app_of(headers),
        session_id=session_of(headers),
        request_id=headers.get("X-Request-ID") or None,
        trace=traceparent.for_request(headers.get("traceparent"), tracing=gw.tracing),
    )


def ms(seconds: float) -> float:
    return seconds * 1000.0

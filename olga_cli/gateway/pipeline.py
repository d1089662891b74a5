"""The request pipeline, top to bottom:

authenticate -> parse -> plan the route -> admit (allow-lists, limits, credits) -> screen input ->
call upstream (attempts, fallbacks) -> relay the answer (screen output, meter) -> settle -> record ->
finish the response.

Nothing here touches aiohttp or SQL: the server hands in a ``Call`` and a ``Sink``; the store is
reached only through the recorder, after the upstream call.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from olga_cli import jsonwire
from olga_cli.errors import GatewayError, InsufficientCredits, InvalidRequest, UpstreamHTTPError
from olga_cli.gateway import metering
from olga_cli.gateway.allowlist import check_allowed, is_allowed
from olga_cli.gateway.auth import authenticate_now
from olga_cli.gateway.exchange import Api
from olga_cli.gateway.failover import Failover, Served
from olga_cli.gateway.limits import Ticket, demand_of
from olga_cli.gateway.metering import Reservation
from olga_cli.gateway.render import ErrorShape, render
from olga_cli.gateway.routing import Target, pinned_provider, plan
from olga_cli.gateway.screening import (
    Guard,
    screen_answer,
    screen_input,
    screen_stream,
    stream_blocked,
    stream_status,
)
from olga_cli.gateway.sink import ClientGone, Sink
from olga_cli.gateway.snapshot import KeyState
from olga_cli.gateway.state import Gateway
from olga_cli.gateway.upstream import UpstreamFailure
from olga_cli.providers.error_shapes import stream_error_event
from olga_cli.providers.relay import Facts, StreamRelay
from olga_cli.providers.sse import SSEParser
from olga_cli.providers.tokens import count_tokens, estimate_prompt_tokens
from olga_cli.providers.usage import Usage
from olga_cli.records import GenerationRecord, new_generation_id
from olga_cli.store.generations import Extra

SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


@dataclass(slots=True)
class Call:
    """One incoming request, as the server adapter saw it."""

    api: Api
    shape: ErrorShape
    endpoint: str
    headers: Mapping[str, str]
    raw_body: bytes
    provider: str | None = None
    received: float = field(default_factory=time.perf_counter)
    error: GatewayError | None = None  # found by the adapter (body too large), answered after auth


@dataclass(slots=True)
class Context:
    """What the pipeline learns about a call on the way through."""

    call: Call
    key: KeyState
    record: GenerationRecord
    body: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    reservation: Reservation | None = None
    limits: Ticket | None = None  # the hold on usage and rate limits, settled from the record
    upstream_seconds: float = 0.0
    extras: list[Extra] = field(default_factory=list)  # statements committed with the record (key health)
    guard: Guard | None = None  # the guardrails that apply to this key and what they found (None: none apply)

    @property
    def streaming(self) -> bool:
        return bool(self.body.get("stream"))


async def handle(gw: Gateway, call: Call, sink: Sink) -> None:
    try:
        key = await authenticate_now(gw, call.headers, call.received)
    except GatewayError as error:
        await sink.send(*render(call.shape, error))
        return
    ctx = Context(call, key, _new_record(gw, call, key))
    try:
        if call.error is not None:
            raise call.error
        ctx.body = parse_body(call)
        ctx.record.model_requested = ctx.body["model"]
        ctx.targets = plan_route(gw, ctx)
        try:
            admit(gw, ctx)
        except InsufficientCredits:
            if not await gw.catch_up(call.received):  # credits topped up a moment ago count at once
                raise
            admit(gw, ctx)
        try:
            screen_input(
                gw, ctx
            )  # 422 on a block; a redaction rewrites ctx.body, which is what goes upstream
            await forward(gw, ctx, sink)
        finally:
            if ctx.reservation is not None:
                ctx.reservation.release()
            if ctx.limits is not None:
                ctx.limits.release()
    except GatewayError as error:
        await _finish_with_error(gw, ctx, sink, error)


def parse_body(call: Call) -> dict[str, Any]:
    try:
        body = jsonwire.loads(call.raw_body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"The request body is not valid JSON ({exc}); send a JSON object.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequest(
            "'model' must be a model name such as 'mock/echo' or 'openai/gpt-4o-mini'.", param="model"
        )
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InvalidRequest("'stream' must be true or false.", param="stream")
    for name in ("max_tokens", "max_completion_tokens", "max_output_tokens"):
        value = body.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
            raise InvalidRequest(f"'{name}' must be a positive integer.", param=name)
    return body


def plan_route(gw: Gateway, ctx: Context) -> list[Target]:
    body = ctx.body
    models = [body["model"]]
    extra = body.get("models")
    if extra is not None:
        if not isinstance(extra, list) or not all(isinstance(m, str) and m for m in extra):
            raise InvalidRequest("'models' must be a list of model names, tried in order.", param="models")
        models += [m for m in extra if m != body["model"]]
    pinned = pinned_provider(gw.config, ctx.call.provider) if ctx.call.provider else None
    api_format = "anthropic" if ctx.call.api == "messages" else "openai"
    targets = plan(gw.config, gw.catalog, api_format=api_format, models=models, pinned=pinned)
    ctx.record.model = targets[0].model_id
    ctx.record.provider = targets[0].provider.name
    return targets


def admit(gw: Gateway, ctx: Context) -> None:
    """Allow-lists (403), credits (402: reserve the worst case of the dearest target), then rate and
    usage limits (429)."""
    first = ctx.targets[0]
    check_allowed(gw.snapshot, ctx.key, first.entry, first.model_id)
    # Fallbacks outside the allow-list are skipped rather than refused: the caller asked for the first.
    ctx.targets = [first] + [
        t for t in ctx.targets[1:] if is_allowed(gw.snapshot, ctx.key, t.entry, t.model_id)
    ]
    multiplier = metering.rate_multiplier(ctx.key, _team_multiplier(gw, ctx.key))
    input_bound = metering.input_token_bound(ctx.call.raw_body)
    worst, max_output = 0, 0
    for target in ctx.targets:
        output = metering.requested_max_output(ctx.body, target.entry)
        cost = target.entry.worst_case_pico(input_bound, output, rate_multiplier=multiplier)
        if cost >= worst:
            worst, max_output = cost, output
    ctx.reservation = metering.reserve(ctx.key, worst, max_output=max_output)
    # Rate and usage limits (429) last: a request admitted here counts, whatever its outcome.
    ctx.limits = gw.limits.admit(
        gw.snapshot,
        ctx.key,
        demand_of(ctx.body, cost=worst, tokens=input_bound + max_output, key=ctx.key),
        now=ctx.record.created_at,
    )


def _team_multiplier(gw: Gateway, key: KeyState) -> Any:
    team = gw.snapshot.teams.get(key.row.team_id) if key.row.team_id else None
    return team.rate_multiplier if team is not None else None


# -- calling upstream ---------------------------------------------------------------------------


async def forward(gw: Gateway, ctx: Context, sink: Sink) -> None:
    """Try the targets in turn (``Failover``: retries, fallbacks) until a reply is relayed.

    Nothing is retried once any byte of a reply has reached the caller. A caller who leaves while
    olga waits is recorded as 499 and the upstream request is cancelled at once.
    """
    failover = Failover(gw, ctx)
    served: Served | None = None
    try:
        while True:
            served = None
            try:
                served = await gw.callers.unless_gone(sink, failover.next())
            except UpstreamHTTPError as error:
                await _finish_with_provider_error(gw, ctx, sink, error)
                return
            relay = _relay_stream if ctx.streaming and served.reply.is_event_stream else _relay_whole
            failure = await relay(gw, ctx, sink, served, failover)
            if failure is None:
                return
            failover.broke(served, failure)
    except ClientGone:
        failover.gone(served)
        if served is not None:
            served.reply.close()
        if not ctx.record.status:
            await _client_gone(gw, ctx, sink, charged=served is not None or failover.abandoned)


async def _client_gone(gw: Gateway, ctx: Context, sink: Sink, *, charged: bool) -> None:
    """The caller left before an answer: 499, charged for the prompt if the provider was working on it."""
    if charged:
        _fill(gw, ctx, Facts(), status=499, error="client_disconnected")
    else:
        ctx.record.status, ctx.record.error = 499, "client_disconnected"
    _store_bodies(gw, ctx, None)
    await _commit(gw, ctx)
    await sink.send(499, _headers(ctx, "application/json"), b"")  # nobody reads it; the server needs one


async def _relay_whole(
    gw: Gateway, ctx: Context, sink: Sink, served: Served, failover: Failover
) -> UpstreamFailure | None:
    """Read, convert, meter, record, send. A failure while reading is returned, not answered: the
    caller has seen nothing yet, so another attempt may serve it."""
    exchange, reply, attempt = served.exchange, served.reply, served.attempt
    try:
        raw = await gw.callers.unless_gone(sink, reply.read())
    except UpstreamFailure as failure:
        failover.took(attempt, served.started)
        return failure
    failover.took(attempt, served.started)
    failover.succeeded(served)
    converted = exchange.convert(raw)
    refused = screen_answer(ctx, converted)  # output guardrails: redact converted.body, or a 422 in its place
    status = 499 if sink.gone() else refused.status if refused else 200
    error = "client_disconnected" if status == 499 else refused.code if refused else None
    _fill(gw, ctx, converted.facts, status=status, error=error)  # a refused answer is still charged
    _store_bodies(gw, ctx, converted.body.decode("utf-8", "replace"))
    await _commit(gw, ctx)
    await sink.send(status, _headers(ctx, converted.content_type), converted.body if status != 499 else b"")
    return None


async def _relay_stream(
    gw: Gateway, ctx: Context, sink: Sink, served: Served, failover: Failover
) -> UpstreamFailure | None:
    """Relay a stream event by event, the caller's headers going out with the first event.

    A stream that fails before its first event is returned like any failed attempt. After that a
    failure ends the stream with an error event in the caller's API (and is never retried), and a
    caller who leaves closes the upstream connection at once; either way the record keeps what was
    used (estimated where the provider sent no usage).
    """
    exchange, reply, attempt = served.exchange, served.reply, served.attempt
    assert exchange.relay is not None
    relay = screen_stream(ctx, exchange.relay())  # output guardrails screen each event, when any apply
    parser = SSEParser()
    record = ctx.record
    tail: list[bytes] = []

    async def begin() -> None:
        if not record.streamed:
            record.streamed = True
            await sink.start(200, {**SSE_HEADERS, **_headers(ctx, SSE_HEADERS["Content-Type"])})

    async def pump() -> None:
        async for chunk in reply.chunks():
            out = [data for event in parser.feed(chunk) for data in relay.feed(event)]
            if out:
                if record.ttft_ms is None:
                    record.ttft_ms = _ms(time.perf_counter() - ctx.call.received)
                await begin()
                await sink.write(b"".join(out))
                if stream_blocked(relay):  # its error event is sent: the provider stops generating
                    reply.close()
                    break
        tail.extend(data for event in parser.flush() for data in relay.feed(event))

    failure: UpstreamFailure | None = None
    try:
        try:
            await gw.callers.unless_gone(sink, pump())
        except UpstreamFailure as exc:
            failure = exc
        failover.took(attempt, served.started)
        if failure is not None and not record.streamed:
            reply.close()
            return failure
        if failure is not None:
            failover.broke_late(served, failure)
            tail = broken_stream_tail(ctx.call.api, relay, failure)
            timed_out = failure.is_timeout
            _fill(
                gw,
                ctx,
                relay.facts,
                status=504 if timed_out else 502,
                error="upstream_timeout" if timed_out else "upstream_error",
            )
        else:
            failover.succeeded(served)
            tail += relay.finish()
            status, error = stream_status(relay)  # 422 when an output guardrail ended the stream
            facts = relay.facts
            if facts.error is not None and status == 200:
                # The provider ended the stream with its own error event, which the caller got as it came.
                status, error = 502, "provider_error"
                attempt.error = f"stream error: {facts.error}"
            _fill(gw, ctx, facts, status=status, error=error)
        _store_bodies(gw, ctx, relay.facts.text)
        await _commit(gw, ctx)
        await begin()
        await sink.write(b"".join(tail))
        await sink.end()
    except ClientGone:
        reply.close()  # drops the upstream connection: the provider stops generating
        failover.gone(served)
        if not record.status:
            failover.took(attempt, served.started)
            relay.finish()
            _fill(gw, ctx, relay.facts, status=499, error="client_disconnected")
            _store_bodies(gw, ctx, relay.facts.text)
            await _commit(gw, ctx)
    return None


def broken_stream_tail(api: str, relay: StreamRelay, failure: UpstreamFailure) -> list[bytes]:
    """The end of a stream the provider broke off or stalled: one error event in the caller's API."""
    what = "went silent" if failure.is_timeout else "broke off"
    message = f"The provider's stream {what} ({failure}); the answer above is incomplete. Retry the request."
    code = "upstream_timeout" if failure.is_timeout else "upstream_error"
    fail = getattr(relay, "fail", None)
    if callable(fail):  # a translating relay ends its own API's way (Responses: error, response.failed)
        return list(fail(message, type="api_error", code=code))
    relay.finish()  # completes the facts; the normal ending it returns is not sent
    wire: Literal["chat", "messages", "responses"] = "chat"
    if api == "messages":
        wire = "messages"
    elif api == "responses":
        wire = "responses"
    return [stream_error_event(wire, message, "api_error" if wire == "messages" else "server_error", code)]


# -- metering and recording ---------------------------------------------------------------------


def _fill(gw: Gateway, ctx: Context, facts: Facts, *, status: int, error: str | None = None) -> None:
    """Usage (estimated where the provider gave none), cost, and the settled charge."""
    record = ctx.record
    usage = facts.usage
    if usage is None:
        usage = Usage(estimate_prompt_tokens(ctx.body), count_tokens(facts.text), estimated=True)
    target = _serving_target(ctx)
    multiplier = metering.rate_multiplier(ctx.key, _team_multiplier(gw, ctx.key))
    cost = target.entry.cost_pico(usage, rate_multiplier=multiplier) if target else 0
    record.status = status
    record.error = error
    record.finish_reason = facts.finish_reason
    record.upstream_id = facts.upstream_id
    if facts.model:
        record.model = f"{record.provider}/{facts.model}" if record.provider else facts.model
    record.tokens_prompt = usage.prompt_tokens
    record.tokens_completion = usage.completion_tokens
    record.tokens_cached = usage.cached_tokens
    record.tokens_cache_write = usage.cache_write_tokens
    record.usage_estimated = usage.estimated
    record.cost_pico = cost
    if ctx.reservation is not None:
        metering.settle(ctx.reservation, cost)


def _serving_target(ctx: Context) -> Target | None:
    if not ctx.record.attempts:
        return None
    last = ctx.record.attempts[-1]
    return next(
        (t for t in ctx.targets if t.provider.name == last.provider and t.upstream_model == last.model), None
    )


def _store_bodies(gw: Gateway, ctx: Context, response_text: str | None) -> None:
    if gw.config.store_bodies and not ctx.key.row.zdr:
        ctx.record.request_body = ctx.call.raw_body.decode("utf-8", "replace")
        ctx.record.response_body = response_text
        if ctx.guard is not None:
            ctx.guard.scrub(ctx.record, ctx.call.raw_body)  # nothing a guardrail blocked or redacted is kept


async def _commit(gw: Gateway, ctx: Context) -> None:
    record = ctx.record
    now = time.perf_counter()
    record.latency_ms = _ms(now - ctx.call.received)
    record.overhead_ms = max(_ms(now - ctx.call.received - ctx.upstream_seconds), 0.0)
    settled = gw.limits.settle(ctx.limits, record)  # usage counted and alerts raised, stored with the record
    await gw.recorder.write(record, [*ctx.extras, *settled.extras])
    gw.limits.announce(settled.alerts)
    gw.notify(record)


async def _finish_with_error(gw: Gateway, ctx: Context, sink: Sink, error: GatewayError) -> None:
    ctx.record.status = error.status
    ctx.record.error = error.code
    if ctx.reservation is not None:
        ctx.reservation.release()
    _store_bodies(gw, ctx, error.message)
    await _commit(gw, ctx)
    status, headers, body = render(ctx.call.shape, error)
    rate_headers = gw.limits.headers(ctx.key, ctx.limits, gw.clock())
    await sink.send(status, {**rate_headers, **headers, "x-olga-generation-id": ctx.record.id}, body)


async def _finish_with_provider_error(
    gw: Gateway, ctx: Context, sink: Sink, error: UpstreamHTTPError
) -> None:
    """The provider's own error, passed through as it came; nothing is charged for it."""
    ctx.record.status = error.status
    ctx.record.error = "provider_error"
    if ctx.reservation is not None:
        ctx.reservation.release()
    _store_bodies(gw, ctx, error.body.decode("utf-8", "replace"))
    await _commit(gw, ctx)
    await sink.send(error.status, {**error.headers, **_headers(ctx, error.content_type)}, error.body)


def _headers(ctx: Context, content_type: str) -> dict[str, str]:
    rate_headers = ctx.limits.headers if ctx.limits is not None else {}
    return {"Content-Type": content_type, "x-olga-generation-id": ctx.record.id, **rate_headers}


def _new_record(gw: Gateway, call: Call, key: KeyState) -> GenerationRecord:
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
        app=headers.get("X-Title") or headers.get("HTTP-Referer") or None,
        request_id=headers.get("X-Request-ID") or None,
    )


def _ms(seconds: float) -> float:
    return seconds * 1000.0

"""The request pipeline, top to bottom:

authenticate -> parse -> plan the route -> admit (allow-lists, limits, credits) -> screen input ->
call upstream (attempts, fallbacks) -> relay the answer (screen output, meter) -> settle -> record ->
finish the response.

Nothing here touches aiohttp or SQL: the server hands in a ``Call`` and a ``Sink``; the store is
reached only through the recorder, after the upstream call.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

from olga_cli.errors import ClientGone, GatewayError, InsufficientCredits, InvalidRequest, UpstreamHTTPError
from olga_cli.gateway.admission import metering
from olga_cli.gateway.admission.allowlist import check_allowed, is_allowed
from olga_cli.gateway.admission.attribution import attribution_of
from olga_cli.gateway.admission.auth import authenticate_now
from olga_cli.gateway.admission.usage_limits import demand_of
from olga_cli.gateway.call import Call, Context
from olga_cli.gateway.error_response import render
from olga_cli.gateway.finish import (
    client_gone,
    finish_with_error,
    finish_with_provider_error,
    new_record,
    team_multiplier,
)
from olga_cli.gateway.relay.screening import guard_for
from olga_cli.gateway.relay.streaming import StreamAnswer
from olga_cli.gateway.relay.whole import answer_whole, read_whole
from olga_cli.gateway.sink import Sink
from olga_cli.gateway.state import Gateway
from olga_cli.gateway.unexpected import end_stream_with_error, fail_unexpectedly
from olga_cli.gateway.upstream.exchange import auto_cache_wanted, make_exchange, served_as_responses
from olga_cli.gateway.upstream.failover import Failover
from olga_cli.gateway.upstream.routing import Target, pinned_provider, plan
from olga_cli.gateway.upstream.served import CALLER_LEFT, Served
from olga_cli.jsonwire import Spans
from olga_cli.providers import item_memory
from olga_cli.providers.tokens import estimate_prompt_tokens
from olga_cli.validation import check_body, json_object
from olga_cli.validation.reuse import own_copies, parse_spanned

log = logging.getLogger("olga.gateway")


async def handle(gw: Gateway, call: Call, sink: Sink) -> None:
    try:
        key = await authenticate_now(gw, call.headers, call.received)
    except GatewayError as error:
        await sink.send(*render(call.shape, error))
        return
    ctx = Context(call, key, new_record(gw, call, key))
    try:
        if call.error is not None:
            raise call.error
        ctx.body, ctx.spans = parse_body(call)
        ctx.record.model_requested = ctx.body["model"]
        ctx.who = attribution_of(call.headers, ctx.body)
        ctx.record.tags, ctx.record.end_user = list(ctx.who.tags), ctx.who.end_user
        if ctx.streaming and not call.can_stream:
            raise InvalidRequest(
                "A streamed answer needs HTTP/1.1 (chunked transfer) and this request came over HTTP/1.0: "
                'send it over HTTP/1.1, or without "stream": true.',
                param="stream",
            )
        ctx.targets = plan_route(gw, ctx)
        if call.api == "responses":
            await recall_items(gw, ctx)
        try:
            admit(gw, ctx)
        except InsufficientCredits:
            if not await gw.catch_up(call.received):  # credits topped up a moment ago count at once
                raise
            admit(gw, ctx)
        try:
            if gw.shared is not None:  # team mode: every instance's requests count too, answered
                gw.shared.begin(gw.snapshot, ctx)  # while the rest is prepared (``admitted``)
            try:
                await screen(gw, ctx)  # 422 on a block; a redaction rewrites ctx.body, sent upstream
            except GatewayError:
                await admitted(ctx)  # the store's refusal answers first, as when it came before
                raise
            await forward(gw, ctx, sink)
        finally:
            if ctx.reservation is not None:
                ctx.reservation.release()
            if ctx.limits is not None:
                ctx.limits.release()
            if gw.shared is not None:
                gw.shared.release(ctx)
    except GatewayError as error:
        if ctx.record.streamed:
            await end_stream_with_error(gw, ctx, sink, error)
        else:
            await finish_with_error(gw, ctx, sink, error)
    except Exception:
        await fail_unexpectedly(gw, ctx, sink)  # never a 500 inside a stream


def parse_body(call: Call) -> tuple[dict[str, Any], Spans | None]:
    """The body, checked (400 naming the field), and for a large one its members' own bytes."""
    spanned = parse_spanned(call.raw_body)
    if spanned is None:
        body, text_checked = json_object(call.raw_body)
    else:
        body, text_checked = spanned.body, True
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequest(
            "'model' must be a model name such as 'mock/echo' or 'openai/gpt-4o-mini'.", param="model"
        )
    checked = frozenset() if spanned is None else spanned.checked_before(call.api)
    check_body(call.api, body, call.raw_body, text_checked=text_checked, checked=checked)
    if spanned is None:
        return body, None
    spanned.passed(call.api)
    return body, spanned.spans


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


async def recall_items(gw: Gateway, ctx: Context) -> None:
    """A Responses request: the earlier answers' items it names that this process does not hold are
    looked up in the store (made by another instance, or before a restart), for translation to find;
    and the items this answer makes are collected, to be stored with its record."""
    if any(not served_as_responses(target) for target in ctx.targets):
        missing = item_memory.unheld(ctx.body)
        if missing:
            try:
                item_memory.learn(await gw.db.records.response_items(missing))
            except Exception:  # the reference is refused, naming the item, as when nowhere
                log.warning("could not look up Responses items in the store", exc_info=True)
    ctx.items_made = item_memory.collect()


def admit(gw: Gateway, ctx: Context) -> None:
    """Allow-lists (403), credits (402: reserve the worst case of the dearest target), then rate and
    usage limits (429)."""
    first = ctx.targets[0]
    check_allowed(gw.snapshot, ctx.key, first.entry, first.model_id)
    # Fallbacks outside the allow-list are skipped rather than refused: the caller asked for the first.
    ctx.targets = [first] + [
        t for t in ctx.targets[1:] if is_allowed(gw.snapshot, ctx.key, t.entry, t.model_id)
    ]
    multiplier = metering.rate_multiplier(ctx.key, team_multiplier(gw, ctx.key))
    worst, max_output, input_bound, dearest = 0, 0, 0, first
    parts = metering.media_of(ctx.body, ctx.spans)  # the same for every target: walked once
    for target in ctx.targets:
        bound = metering.input_token_bound(
            ctx.call.raw_body, context_window=target.entry.context_window, media=parts
        )
        output = metering.requested_max_output(ctx.body, target.entry)
        cost = target.entry.worst_case_pico(bound, output, rate_multiplier=multiplier)
        input_bound = max(input_bound, bound)
        if cost >= worst:
            worst, max_output, dearest = cost, output, target
    media = input_bound - len(ctx.call.raw_body)  # what images and files may add, kept at its worst
    worst, max_output = _reserve(ctx, worst, max_output, dearest, multiplier, media)
    # Rate and usage limits (429) last: a request admitted here counts, whatever its outcome.
    ctx.limits = gw.limits.admit(
        gw.snapshot,
        ctx.key,
        demand_of(ctx.body, cost=worst, tokens=input_bound + max_output, key=ctx.key),
        now=ctx.record.created_at,
        who=ctx.who,
    )


def _reserve(
    ctx: Context, worst: int, max_output: int, dearest: Target, multiplier: Decimal, media: int
) -> tuple[int, int]:
    """Reserve the worst case; or, for a key whose balance cannot cover it, as much output as the
    balance affords beside the prompt as estimated, its text estimated and its ``media`` tokens at
    their worst (402 below a useful answer). Returns what was reserved and the output it covers."""
    balance = ctx.key.balance
    affordable = None
    if balance is not None and worst > balance:
        affordable = metering.afford(
            ctx.key,
            dearest.entry,
            input_tokens=estimate_prompt_tokens(ctx.body) + max(media, 0),
            wanted=max_output,
            multiplier=multiplier,
        )
    if affordable is None:
        ctx.reservation = metering.reserve(ctx.key, worst, max_output=max_output)
        return worst, max_output
    ctx.reservation = metering.reserve_affordable(ctx.key, affordable)
    if affordable.output < max_output:
        ctx.afforded_output = affordable.output  # sent upstream as the maximum: x-olga-max-tokens
    return affordable.cost, affordable.output


async def admitted(ctx: Context) -> None:
    """Team mode: wait for the store's answer on the request's hold (shielded: a caller leaving
    meanwhile does not cancel it). A refusal raises, and the record is left as if the request had
    stopped at admission, where the refusal used to come: nothing screened, routed or tried."""
    if ctx.admitting is None:
        return
    try:
        await asyncio.shield(ctx.admitting)
    except GatewayError:
        ctx.guard, ctx.sent_max_output = None, None
        record, first = ctx.record, ctx.targets[0]
        record.attempts.clear()
        record.dropped = []
        record.model, record.provider = first.model_id, first.provider.name
        raise


async def screen(gw: Gateway, ctx: Context) -> None:
    """The key's guardrails (``ctx.guard``, None when none apply), and the request body screened."""
    row = ctx.key.row
    ctx.guard = guard_for(gw.snapshot.guardrails, row.id, row.team_id, ctx.call.api, ctx.record)
    if ctx.guard is not None:
        if ctx.spans is not None:
            own_copies(ctx.body, ctx.spans)  # what a redaction may rewrite is not shared with others
            # A screened request goes upstream as olga writes it, never as the caller's bytes: a
            # redaction rewrites values in place, and bytes with a key repeated inside a member (the
            # parse keeps the last) could hold text the screens never read.
            ctx.spans = None
        await ctx.guard.screen_input(ctx.body)


# -- calling upstream ---------------------------------------------------------------------------


async def forward(gw: Gateway, ctx: Context, sink: Sink) -> None:
    """Try the targets in turn (``Failover``: retries, fallbacks) until a reply is relayed.

    Nothing is retried once any byte of a reply has reached the caller. A caller who leaves while
    olga waits is recorded as 499 and the upstream request is cancelled at once.
    """
    call = ctx.call
    auto_cache = auto_cache_wanted(gw.config.caching, ctx.key.row, call.headers)
    failover = Failover(
        ctx.targets,
        ctx.record,
        lambda target: ctx.adopt(
            make_exchange(
                call.api,
                target,
                ctx.body,
                dict(call.headers),
                query=call.query,
                max_output=ctx.afforded_output,
                auto_cache=auto_cache,
            )
        ),
        gw.provider_access(),
        received=call.received,
        gate=None if ctx.admitting is None else lambda: admitted(ctx),
    )
    served: Served | None = None
    try:
        while True:
            served = None
            try:
                served = await gw.callers.unless_gone(sink, failover.next())
            except UpstreamHTTPError as error:
                await finish_with_provider_error(gw, ctx, sink, error, failover.health)
                return
            if await relay_reply(gw, ctx, sink, served, failover):
                return
    except ClientGone:
        if served is not None:
            failover.relayed(served, CALLER_LEFT)
            served.reply.close()
        if not ctx.record.status:
            charged = served is not None or failover.abandoned
            await client_gone(gw, ctx, sink, failover.health, charged=charged)
    except GatewayError as error:
        await finish_with_error(gw, ctx, sink, error, failover.health)
    except BaseException:
        if served is not None:
            served.reply.close()  # a bug or a cancellation: the provider stops generating
        raise


async def relay_reply(gw: Gateway, ctx: Context, sink: Sink, served: Served, failover: Failover) -> bool:
    """Relay one served reply, whole or streamed, telling failover how the provider's part ended;
    False when it broke before the caller saw any of it, so another attempt may serve them."""
    if ctx.streaming and served.reply.is_event_stream:
        stream = StreamAnswer(gw, ctx, sink, served)
        ended = await stream.pump()
        failover.relayed(served, ended)
        if ended.retry:
            return False
        await stream.end(ended, failover.health)
        return True
    ended, raw = await read_whole(gw, sink, served)
    failover.relayed(served, ended)
    if ended.retry:
        return False
    await answer_whole(gw, ctx, sink, served, raw, failover.health)
    return True

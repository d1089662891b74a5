"""Relaying a whole answer: read it, convert it to the caller's API, screen it, meter, record, send."""

from __future__ import annotations

from olga_cli.gateway.call import Context
from olga_cli.gateway.finish import commit, fill, headers_for, store_bodies
from olga_cli.gateway.relay.screening import screen_answer
from olga_cli.gateway.sink import Sink
from olga_cli.gateway.state import Gateway
from olga_cli.gateway.upstream.client import UpstreamFailure
from olga_cli.gateway.upstream.failover import Failover, Served


async def relay_whole(
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
    fill(gw, ctx, converted.facts, status=status, error=error)  # a refused answer is still charged
    store_bodies(gw, ctx, converted.body.decode("utf-8", "replace"))
    await commit(gw, ctx)
    await sink.send(
        status, headers_for(ctx, converted.content_type), converted.body if status != 499 else b""
    )
    return None

"""Relaying a whole answer: read it (``read_whole``); once the provider's part is judged, convert it
to the caller's API, screen it, meter, record and send it (``answer_whole``)."""

from __future__ import annotations

from collections.abc import Sequence

from olga_cli.errors import UpstreamError, UpstreamFailure
from olga_cli.gateway.call import Context
from olga_cli.gateway.finish import commit, fill, headers_for, store_bodies
from olga_cli.gateway.relay.malformed import MALFORMED, answer_malformed
from olga_cli.gateway.relay.screening import screen_answer
from olga_cli.gateway.sink import Sink
from olga_cli.gateway.state import Gateway
from olga_cli.gateway.upstream.served import DELIVERED, Relayed, Served
from olga_cli.store.generations import Extra


async def read_whole(gw: Gateway, sink: Sink, served: Served) -> tuple[Relayed, bytes]:
    """The reply's body, read to its end. A failure while reading is returned (``broke_early``), not
    answered: the caller has seen nothing yet, so another attempt may serve it."""
    try:
        raw = await gw.callers.unless_gone(sink, served.reply.read())
    except UpstreamFailure as failure:
        served.took()
        return Relayed("broke_early", failure), b""
    served.took()
    return DELIVERED, raw


async def answer_whole(
    gw: Gateway, ctx: Context, sink: Sink, served: Served, raw: bytes, health: Sequence[Extra]
) -> None:
    """Convert, screen, meter, record (with the key ``health`` failover learnt), send."""
    try:
        _check_content_type(served, streaming=ctx.streaming and served.exchange.relay is not None)
        converted = served.exchange.convert(raw)
    except MALFORMED as exc:
        await answer_malformed(gw, ctx, sink, served, raw, exc, health)
        return
    # Output guardrails: redact converted.body, or a 422 in its place.
    refused = screen_answer(ctx.guard, ctx.call.shape, converted)
    status = 499 if sink.gone() else refused.status if refused else 200
    error = "client_disconnected" if status == 499 else refused.code if refused else None
    fill(gw, ctx, converted.facts, status=status, error=error)  # a refused answer is still charged
    store_bodies(gw, ctx, converted.body.decode("utf-8", "replace"))
    await commit(gw, ctx, health)
    await sink.send(
        status, headers_for(gw, ctx, converted.content_type), converted.body if status != 499 else b""
    )


def _check_content_type(served: Served, *, streaming: bool) -> None:
    """A 200 is what the API promises, as its Content-Type says: JSON for a whole answer (a stream
    never gets here: an event stream to a streamed request is relayed as one). An HTML page, plain
    text, or JSON to a caller who asked for a stream is the provider's failure, even when the bytes
    would parse. A reply without a Content-Type is read as JSON."""
    got = served.reply.content_type
    if streaming:
        raise UpstreamError(
            f"the provider answered a streamed request with {got or 'no Content-Type'}, not text/event-stream"
        )
    if got != "application/json" and not got.endswith("+json"):
        raise UpstreamError(f"the provider's answer is {got or 'of no Content-Type'}, not application/json")

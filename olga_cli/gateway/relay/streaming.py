"""Relaying a stream event by event, in the caller's API, screened as it goes."""

from __future__ import annotations

import time
from typing import Literal

from olga_cli.gateway.call import Context
from olga_cli.gateway.finish import commit, fill, headers_for, ms, store_bodies
from olga_cli.gateway.relay.screening import screen_stream, stream_blocked, stream_status
from olga_cli.gateway.sink import ClientGone, Sink
from olga_cli.gateway.state import Gateway
from olga_cli.gateway.upstream.client import UpstreamFailure
from olga_cli.gateway.upstream.failover import Failover, Served
from olga_cli.providers.error_shapes import stream_error_event
from olga_cli.providers.relay import StreamRelay
from olga_cli.providers.sse import SSEParser

SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


async def relay_stream(
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
            await sink.start(200, {**SSE_HEADERS, **headers_for(ctx, SSE_HEADERS["Content-Type"])})

    async def pump() -> None:
        async for chunk in reply.chunks():
            out = [data for event in parser.feed(chunk) for data in relay.feed(event)]
            if out:
                if record.ttft_ms is None:
                    record.ttft_ms = ms(time.perf_counter() - ctx.call.received)
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
            fill(
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
            fill(gw, ctx, facts, status=status, error=error)
        store_bodies(gw, ctx, relay.facts.text)
        await commit(gw, ctx)
        await begin()
        await sink.write(b"".join(tail))
        await sink.end()
    except ClientGone:
        reply.close()  # drops the upstream connection: the provider stops generating
        failover.gone(served)
        if not record.status:
            failover.took(attempt, served.started)
            relay.finish()
            fill(gw, ctx, relay.facts, status=499, error="client_disconnected")
            store_bodies(gw, ctx, relay.facts.text)
            await commit(gw, ctx)
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

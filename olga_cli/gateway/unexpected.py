"""What a bug met while answering turns into: never a 500 written inside a stream.

Before the caller has seen a byte, the answer is a JSON 500 ``internal_error`` in the route's API
shape; after the first byte of a stream, the stream ends with a well-formed error event of the
route's API (``[DONE]`` after it on Chat Completions), as a provider's broken stream does. Either way
the error is logged and the request recorded as 500, charged for the prompt when a provider was
already working on it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

from olga_cli.errors import ClientGone, GatewayError, InternalError
from olga_cli.gateway.call import Context
from olga_cli.gateway.error_response import ErrorShape, render
from olga_cli.gateway.finish import commit, fill, store_bodies
from olga_cli.gateway.sink import Sink
from olga_cli.gateway.state import Gateway
from olga_cli.providers.error_shapes import stream_error_event
from olga_cli.providers.relay import Facts
from olga_cli.store.generations import Extra

log = logging.getLogger("olga.gateway")

UNEXPECTED = "olga hit an unexpected error; it has been logged. Try again."
DONE = b"data: [DONE]\n\n"

Wire = Literal["chat", "messages", "responses"]


def stream_error_tail(api: str, error: GatewayError) -> bytes:
    """The end of a stream olga cannot finish: one error event in ``api``'s wire format."""
    wire: Wire = "messages" if api == "messages" else "responses" if api == "responses" else "chat"
    kind = "api_error" if wire == "messages" else "server_error"
    if error.status < 500:
        kind = "invalid_request_error"
    event = stream_error_event(wire, error.message, kind, error.code)
    return event + DONE if wire == "chat" else event


async def end_stream_with_error(gw: Gateway, ctx: Context, sink: Sink, error: GatewayError) -> None:
    """An olga error after the stream began: recorded, then the stream ended with its error event."""
    await _record(gw, ctx, error, ())
    await end_stream(sink, stream_error_tail(ctx.call.api, error))


async def end_stream(sink: Sink, tail: bytes) -> None:
    """``tail`` as a stream's last bytes, then its end; nothing if the caller is gone."""
    try:
        await sink.write(tail)
        await sink.end()
    except (ClientGone, RuntimeError):
        pass  # the caller has gone, or the stream had already ended: nothing more can reach them


async def fail_unexpectedly(gw: Gateway, ctx: Context, sink: Sink, health: Sequence[Extra] = ()) -> None:
    """The pipeline met a bug (called from an ``except`` block, so the traceback is logged)."""
    log.exception("unexpected error on %s (generation %s)", ctx.call.endpoint, ctx.record.id)
    error = InternalError(UNEXPECTED)
    if ctx.record.streamed:
        await end_stream_with_error(gw, ctx, sink, error)
        return
    await _record(gw, ctx, error, health)
    status, headers, body = render(ctx.call.shape, error)
    await sink.send(status, {**headers, "x-olga-generation-id": ctx.record.id}, body)


def answer_unexpected(shape: ErrorShape) -> tuple[int, dict[str, str], bytes]:
    """A JSON 500 for a bug met where no record exists (before authentication, or while recording)."""
    return render(shape, InternalError(UNEXPECTED))


async def _record(gw: Gateway, ctx: Context, error: GatewayError, health: Sequence[Extra]) -> None:
    """Record the request as ``error`` unless it was recorded already; a failure here is only logged,
    so that the caller still gets a well-formed ending."""
    record = ctx.record
    if record.status:
        return
    try:
        if record.attempts and error.status >= 500:
            fill(gw, ctx, Facts(), status=error.status, error=error.code)  # the provider was at work
        else:
            record.status, record.error = error.status, error.code
        store_bodies(gw, ctx, error.message)
        await commit(gw, ctx, health)
    except Exception:
        log.exception("could not record generation %s after an unexpected error", record.id)
        record.status = record.status or error.status

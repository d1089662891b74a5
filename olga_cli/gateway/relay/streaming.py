"""Relaying a stream event by event, in the caller's API, screened as it goes.

``StreamAnswer.pump`` relays until the provider's stream ends and says how it ended (``Relayed``), for
failover to judge; ``StreamAnswer.end`` then finishes the caller's stream and records it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Literal

from olga_cli.errors import ClientGone, UpstreamError, UpstreamFailure
from olga_cli.gateway.call import Context
from olga_cli.gateway.error_response import render
from olga_cli.gateway.finish import commit, fill, headers_for, ms, store_bodies
from olga_cli.gateway.relay.malformed import MALFORMED, why
from olga_cli.gateway.relay.screening import screen_stream, stream_blocked, stream_status
from olga_cli.gateway.sink import Sink
from olga_cli.gateway.state import Gateway
from olga_cli.gateway.upstream.provider_errors import scrub, scrub_text
from olga_cli.gateway.upstream.served import CALLER_LEFT, DELIVERED, Relayed, Served
from olga_cli.providers.error_shapes import stream_error_event
from olga_cli.providers.relay import StreamRelay
from olga_cli.providers.sse import SSEEvent
from olga_cli.store.generations import Extra

SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


class StreamAnswer:
    """One served stream on its way to the caller, the caller's headers going out with the first event.

    A stream that fails before its first event ends like any failed attempt (``broke_early``: nothing
    was sent, so another attempt may serve it), unless olga cannot read that event: the provider did
    the work, so it is recorded and charged, and the caller gets a 502 in its API's shape. After that a failure ends the stream with an error
    event in the caller's API (and is never retried), and a caller who leaves closes the upstream
    connection at once; either way the record keeps what was used (estimated where the provider sent
    no usage).
    """

    __slots__ = ("ctx", "gw", "relay", "served", "sink", "tail")

    def __init__(self, gw: Gateway, ctx: Context, sink: Sink, served: Served) -> None:
        assert served.exchange.relay is not None
        self.gw, self.ctx, self.sink, self.served = gw, ctx, sink, served
        # Output guardrails screen each event, when any apply.
        self.relay = screen_stream(ctx.guard, served.exchange.relay())
        self.tail: list[bytes] = []

    async def _begin(self) -> None:
        record = self.ctx.record
        if not record.streamed:
            record.streamed = True
            headers = headers_for(self.gw, self.ctx, SSE_HEADERS["Content-Type"])
            await self.sink.start(200, {**SSE_HEADERS, **headers})

    async def _events(self) -> None:
        reply, relay, record = self.served.reply, self.relay, self.ctx.record
        secrets = (self.served.key.value,) if self.served.key else ()
        async for events in reply.events():
            out = _relayed(relay, events, secrets)
            if out:
                if record.ttft_ms is None:
                    record.ttft_ms = ms(time.perf_counter() - self.ctx.call.received)
                await self._begin()
                await self.sink.write(b"".join(out))
                if stream_blocked(relay):  # its error event is sent: the provider stops generating
                    reply.close()
                    break
        self.tail.extend(_relayed(relay, reply.flush_events(), secrets))

    async def pump(self) -> Relayed:
        """Relay events until the provider's stream ends; how it ended."""
        served = self.served
        try:
            await self.gw.callers.unless_gone(self.sink, self._events())
        except UpstreamFailure as failure:
            served.took()
            served.reply.close()
            if not self.ctx.record.streamed and failure.kind != "malformed":
                return Relayed("broke_early", failure)
            # After the first event, or an event olga cannot read (the provider did the work): final.
            return Relayed("broke_late", failure)
        except ClientGone:
            served.reply.close()  # drops the upstream connection: the provider stops generating
            return CALLER_LEFT
        served.took()
        return DELIVERED

    async def end(self, ended: Relayed, health: Sequence[Extra]) -> None:
        """Finish the caller's stream as ``ended`` says, and commit the record (with the key ``health``
        failover learnt)."""
        gw, ctx, relay = self.gw, self.ctx, self.relay
        if ended.ending == "caller_left":
            self.served.took()
            relay.finish()
            if relay.facts.error is not None:  # the provider's error event reached them: that ended it
                fill(gw, ctx, relay.facts, status=502, error=self._provider_error(relay.facts.error))
            else:
                fill(gw, ctx, relay.facts, status=499, error="client_disconnected")
            store_bodies(gw, ctx, relay.facts.text)
            await commit(gw, ctx, health)
            if not ctx.record.streamed:  # gone before the first event: nobody reads it; the server needs one
                await self.sink.send(499, headers_for(gw, ctx, "application/json"), b"")
            return
        if ended.failure is not None and not ctx.record.streamed:
            await self._unreadable(ended.failure, health)
            return
        if ended.failure is not None:
            tail = broken_stream_tail(ctx.call.api, relay, ended.failure)
            timed_out = ended.failure.is_timeout
            fill(
                gw,
                ctx,
                relay.facts,
                status=504 if timed_out else 502,
                error="upstream_timeout" if timed_out else "upstream_error",
            )
        else:
            tail = self.tail + relay.finish()
            status, error = stream_status(relay)  # 422 when an output guardrail ended the stream
            facts = relay.facts
            if facts.error is not None and status == 200:
                # The provider ended the stream with its own error event, which the caller got as it came.
                status, error = 502, self._provider_error(facts.error)
            fill(gw, ctx, facts, status=status, error=error)
        store_bodies(gw, ctx, relay.facts.text)
        await commit(gw, ctx, health)
        try:
            await self._begin()
            await self.sink.write(b"".join(tail))
            await self.sink.end()
        except ClientGone:
            self.served.reply.close()

    async def _unreadable(self, failure: UpstreamFailure, health: Sequence[Extra]) -> None:
        """A stream whose first event olga cannot read: recorded and charged like one that breaks later
        (the provider did the work), but answered as a 502 in the caller's API, since nothing was sent."""
        gw, ctx, relay = self.gw, self.ctx, self.relay
        relay.finish()
        fill(gw, ctx, relay.facts, status=502, error="upstream_error")
        store_bodies(gw, ctx, relay.facts.text)
        await commit(gw, ctx, health)
        error = UpstreamError(
            f"Provider '{self.served.target.provider.name}' sent a stream olga cannot read ({failure}); "
            f"see `olga generation {ctx.record.id}`. Retry, or try another model."
        )
        status, headers, body = render(ctx.call.shape, error)
        await self.sink.send(status, {**headers_for(gw, ctx, "application/json"), **headers}, body)

    def _provider_error(self, message: str) -> str:
        """The provider's own error event, kept on its attempt (scrubbed); the record's ``error``."""
        key = self.served.key.value if self.served.key else None
        self.served.attempt.error = f"stream error: {scrub_text(message, [key])}"
        return "provider_error"


def _relayed(relay: StreamRelay, events: list[SSEEvent], secrets: Sequence[str | None]) -> list[bytes]:
    """The caller's bytes for ``events``, the provider's error events scrubbed of ``secrets`` first.

    An event the relay cannot read (invalid JSON in ``data:``, a delta that is a string, nesting too
    deep to parse) ends the provider's stream as a failure of the provider's, like a dropped
    connection: never an error of olga's."""
    if any(map(carries_error, events)):
        events = [scrubbed(event, secrets) if carries_error(event) else event for event in events]
    try:
        return [data for event in events for data in relay.feed(event)]
    except MALFORMED as exc:
        raise UpstreamFailure(
            "malformed", f"the provider sent an event olga cannot read ({why(exc)})"
        ) from None


# A provider's error, in each API's stream: Anthropic's and Responses' named events, and the
# ``{"error": ...}`` (or ``"type": "error"``) data that Chat and Gemini streams carry without a name.
_ERROR_EVENTS = frozenset({"error", "response.failed"})
_ERROR_DATA = re.compile(r'\s*\{\s*"(?:error"|type"\s*:\s*"(?:error|response\.failed)")')


def carries_error(event: SSEEvent) -> bool:
    return event.event in _ERROR_EVENTS or _ERROR_DATA.match(event.data) is not None


def scrubbed(event: SSEEvent, secrets: Sequence[str | None]) -> SSEEvent:
    """A provider's error event without its key or anything the secrets detector finds: some providers
    quote what they were sent, and the event goes on to the caller (as it came, or translated) and to
    the record. Scrubbed before any relay reads it, so every route gets the same clean event."""
    data = scrub_text(event.data, secrets)
    if data == event.data:
        return event
    return SSEEvent(event.event, data, scrub(event.raw, secrets))


def broken_stream_tail(api: str, relay: StreamRelay, failure: UpstreamFailure) -> list[bytes]:
    """The end of a stream the provider broke off or stalled: one error event in the caller's API."""
    what = {"idle_timeout": "went silent", "total_timeout": "timed out"}.get(failure.kind, "broke off")
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

"""What every stage of the pipeline shares: the incoming ``Call``, and the ``Context`` the pipeline
fills in on the way through."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from olga_cli.errors import GatewayError
from olga_cli.gateway.admission.attribution import NOBODY, Attribution
from olga_cli.gateway.admission.hold import Hold
from olga_cli.gateway.admission.metering import Reservation, requested_output
from olga_cli.gateway.admission.usage_limits import Ticket
from olga_cli.gateway.error_response import ErrorShape
from olga_cli.gateway.relay.screening import Guard
from olga_cli.gateway.snapshot import KeyState
from olga_cli.gateway.upstream.exchange import Api, Exchange, upstream_max_output
from olga_cli.gateway.upstream.routing import Target
from olga_cli.jsonwire import Spans
from olga_cli.records import GenerationRecord


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
    query: str = ""  # the query string, forwarded when nothing is translated (Claude Code's ?beta=true)
    can_stream: bool = True  # False for a client that cannot take a chunked stream (HTTP/1.0)


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
    hold: Hold | None = None  # team mode: the same, taken in the store every instance shares
    admitting: asyncio.Task[None] | None = None  # team mode: the hold being taken (done: granted or refused)
    who: Attribution = NOBODY  # the request's tags and end user, which limits count too
    guard: Guard | None = None  # the guardrails that apply to this key and what they found (None: none apply)
    afforded_output: int | None = None  # the lower maximum output the key's balance affords, if any
    sent_max_output: int | None = None  # the maximum output sent upstream when olga lowered it
    items_made: list[dict[str, Any]] | None = None  # Responses items a translated answer made (stored)
    spans: Spans | None = None  # a large body's members as the caller wrote them (``jsonwire.Spans``)

    def adopt(self, exchange: Exchange) -> Exchange:
        """What the exchange about to be tried changed in the request: dropped fields, a lower maximum."""
        self.record.dropped = list(exchange.dropped)
        exchange.spans = self.spans
        sent = upstream_max_output(exchange)
        asked = requested_output(self.body)
        # Lowered: below what the caller asked for (a catalog maximum), or to what the key affords.
        lowered = sent is not None and (
            sent < asked if asked is not None else self.afforded_output is not None
        )
        self.sent_max_output = sent if lowered else None
        return exchange

    @property
    def streaming(self) -> bool:
        return bool(self.body.get("stream"))

"""W3C trace context (``traceparent``): continuing a caller's trace and handing it on upstream.

https://www.w3.org/TR/trace-context/: ``00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>``.
olga's own span gets a fresh span id at arrival, so the header sent upstream names it as the parent
before the span itself is exported (spans are built from the record once it is committed).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
SAMPLED = 0x01


@dataclass(slots=True)
class TraceIds:
    """The ids of one request's span, and where it hangs in the caller's trace."""

    trace_id: int
    span_id: int
    parent_span_id: int | None = None  # the caller's span, when it sent a traceparent
    flags: int = SAMPLED
    passthrough: bool = False  # olga does not trace: span_id is the caller's, handed on as it came
    # The span id of each upstream attempt (keyed by the Attempt object), named in its traceparent.
    attempt_spans: dict[int, int] = field(default_factory=dict)
    # Message contents for the span, kept only when the user opted in and the key is not ZDR.
    input_text: str | None = None
    output_text: str | None = None

    def header(self, span_id: int | None = None) -> str:
        """The ``traceparent`` for a child of this request's span (or of ``span_id``)."""
        return f"00-{self.trace_id:032x}-{span_id or self.span_id:016x}-{self.flags:02x}"

    def for_attempt(self, attempt: object) -> str:
        """A new span id for an upstream attempt, and the ``traceparent`` that names it as the parent."""
        span_id = self.attempt_spans[id(attempt)] = new_span_id()
        return self.header(span_id)


def parse(value: str | None) -> tuple[int, int, int] | None:
    """(trace id, parent span id, flags) from a ``traceparent`` header; None when absent or invalid.

    An invalid header is ignored, as the specification asks: the request starts a new trace.
    """
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if match is None:
        return None
    version, trace_hex, span_hex, flags_hex, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    if trace_id == 0 or span_id == 0:
        return None
    return trace_id, span_id, int(flags_hex, 16)


# Ids need to be unique and unguessable enough to not collide, not secret: the module's generator,
# seeded from os.urandom and reseeded in a forked child, draws one in a tenth of os.urandom's time
# (a system call), and a request draws two or three.
_bits = random.getrandbits


def new_span_id() -> int:
    return _bits(64) or 1


def start(incoming: str | None) -> TraceIds:
    """The ids of a new request span: a child of the caller's span, or the root of a new trace."""
    parent = parse(incoming)
    if parent is None:
        return TraceIds(_bits(128) or 1, new_span_id())
    trace_id, parent_span_id, flags = parent
    return TraceIds(trace_id, new_span_id(), parent_span_id, flags)


def for_request(incoming: str | None, *, tracing: bool) -> TraceIds | None:
    """A request's trace ids: its own span when olga traces; otherwise the caller's valid
    ``traceparent`` kept to hand on upstream as it came; None when there is neither."""
    if tracing:
        return start(incoming)
    parent = parse(incoming)
    if parent is None:
        return None
    return TraceIds(parent[0], parent[1], flags=parent[2], passthrough=True)


def with_trace(headers: dict[str, str], trace: TraceIds | None, attempt: object) -> dict[str, str]:
    """The W3C ``traceparent`` goes upstream: naming this attempt's span when olga traces, else the
    caller's own as it came."""
    if trace is None:
        return headers
    value = trace.header() if trace.passthrough else trace.for_attempt(attempt)
    return {**headers, "traceparent": value}

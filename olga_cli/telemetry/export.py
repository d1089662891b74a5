"""The OpenTelemetry SDK side: spans built from committed records and exported over OTLP in batches.

Nothing here runs on a request's path: the gateway's observer only appends the record to a deque (no
lock, no wake-up); a thread of ours, waking every ``BATCH_EVERY`` seconds, builds the spans and hands them to the SDK's BatchSpanProcessor, whose
own thread exports them. A collector that is down or slow fills the SDK's bounded queue and spans are
dropped, never requests delayed. The SDK is imported here only, and only when tracing is on.
"""

from __future__ import annotations

import collections
import logging
import threading
from typing import TYPE_CHECKING, Any

from olga_cli.errors import UserError
from olga_cli.records import GenerationRecord
from olga_cli.telemetry import genai
from olga_cli.telemetry.settings import TelemetrySettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger("olga.telemetry")
QUEUE_LIMIT = 10_000  # records waiting for their spans; beyond it spans are dropped (and counted)
# The span thread's turn. Waking it for every record (a queue's notify) costs a thread switch and a
# turn of the GIL per request; spans carry the record's own times, so building them a fraction of a
# second later changes nothing a collector shows.
BATCH_EVERY = 0.2
MISSING_SDK = (
    "Tracing is on (an OTLP endpoint is set) but the OpenTelemetry SDK is not installed: "
    "pip install 'olga[otel]', or unset OTEL_EXPORTER_OTLP_ENDPOINT"
)


class Tracing:
    """One per server: ``observe`` queues committed records; ``close`` flushes what is queued."""

    def __init__(self, settings: TelemetrySettings) -> None:
        self.settings = settings
        self.dropped = 0
        self._pending: collections.deque[GenerationRecord] = collections.deque()
        self._closing = threading.Event()
        self._provider, self._tracer, self._ids = _build_sdk(settings)
        self._thread = threading.Thread(target=self._run, name="olga-tracing", daemon=True)
        self._thread.start()

    def observe(self, record: GenerationRecord) -> None:
        if record.trace is None or record.trace.passthrough:
            return
        if len(self._pending) >= QUEUE_LIMIT:
            self.dropped += 1
            return
        self._pending.append(record)  # atomic: the span thread pops from the other end

    def close(self) -> None:
        """Export what is queued (waiting at most the exporter's timeout), then stop."""
        self._closing.set()
        self._thread.join()
        self._provider.shutdown()

    def _run(self) -> None:
        while True:
            closing = self._closing.wait(BATCH_EVERY)
            while self._pending:
                record = self._pending.popleft()
                try:
                    self._emit(record)
                except Exception:  # a span we cannot build must not stop the ones after it
                    log.exception("could not build the spans of %s", record.id)
            if closing:
                return

    def _emit(self, record: GenerationRecord) -> None:
        from opentelemetry import trace as api
        from opentelemetry.trace import (
            NonRecordingSpan,
            SpanContext,
            SpanKind,
            Status,
            StatusCode,
            TraceFlags,
        )

        ids = record.trace
        assert ids is not None
        parent_context = None
        if ids.parent_span_id is not None:
            remote = SpanContext(
                ids.trace_id, ids.parent_span_id, is_remote=True, trace_flags=TraceFlags(ids.flags)
            )
            parent_context = api.set_span_in_context(NonRecordingSpan(remote))
        capture = (ids.input_text, ids.output_text) if self.settings.capture_content else None
        data = genai.request_span(record, capture=capture)
        self._ids.next(ids.trace_id, ids.span_id)
        kinds = {"server": SpanKind.SERVER, "client": SpanKind.CLIENT}
        span = self._tracer.start_span(
            data.name, parent_context, kinds[data.kind], data.attributes, start_time=data.start_ns
        )
        for event in data.events:
            span.add_event(event.name, event.attributes, timestamp=event.time_ns)
        child_context = api.set_span_in_context(span)
        for attempt, child in genai.attempt_spans(record):
            self._ids.next(ids.trace_id, ids.attempt_spans.get(id(attempt)))
            attempt_span = self._tracer.start_span(
                child.name, child_context, kinds[child.kind], child.attributes, start_time=child.start_ns
            )
            if child.error is not None:
                attempt_span.set_status(Status(StatusCode.ERROR, child.error))
            attempt_span.end(end_time=child.end_ns)
        if data.error is not None:
            span.set_status(Status(StatusCode.ERROR, data.error))
        span.end(end_time=data.end_ns)


class _PresetIds:
    """Hands the SDK the ids olga chose at arrival (the one it forwarded upstream in ``traceparent``)."""

    def __init__(self) -> None:
        import random

        self._random = random.SystemRandom()
        self._trace_id: int | None = None
        self._span_id: int | None = None

    def next(self, trace_id: int, span_id: int | None) -> None:
        self._trace_id, self._span_id = trace_id, span_id

    def generate_span_id(self) -> int:
        chosen, self._span_id = self._span_id, None
        return chosen or self._random.getrandbits(64) or 1

    def is_trace_id_random(self) -> bool:
        return True  # olga's ids come from os.urandom; a caller's are random by the W3C specification

    def generate_trace_id(self) -> int:
        chosen, self._trace_id = self._trace_id, None
        return chosen or self._random.getrandbits(128) or 1


def _build_sdk(settings: TelemetrySettings) -> tuple[TracerProvider, Any, _PresetIds]:
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise UserError(MISSING_SDK) from None
    ids = _PresetIds()
    resource = Resource.create({"service.name": settings.service_name})
    provider = TracerProvider(resource=resource, id_generator=ids)  # type: ignore[arg-type]
    provider.add_span_processor(BatchSpanProcessor(_exporter(settings)))
    from olga_cli import __version__

    return provider, provider.get_tracer("olga", __version__), ids


def _exporter(settings: TelemetrySettings) -> Any:
    endpoint, headers = settings.endpoint, settings.headers
    if settings.protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found, unused-ignore]
                OTLPSpanExporter as Grpc,
            )
        except ImportError:
            raise UserError(
                "OTLP over gRPC needs its exporter: pip install opentelemetry-exporter-otlp-proto-grpc, "
                "or set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
            ) from None
        return Grpc(endpoint=endpoint, headers=headers)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

    if endpoint is not None:
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    return Http(endpoint=endpoint, headers=headers, timeout=5)

"""Spans of committed records, encoded and exported over OTLP in batches, all off the request path.

The gateway's observer only appends the record to a deque (no lock, no wake-up); a thread of ours,
waking every ``BATCH_EVERY`` seconds, samples, turns each record into OTLP span bytes (``otlp``, no
SDK objects) and posts a batch when it is full or its oldest span has waited ``schedule_delay``. A
collector that is down or slow holds up that thread only: records beyond the queue are dropped (and
counted), never requests delayed.
"""

from __future__ import annotations

import collections
import logging
import threading
import time

from olga_cli.records import GenerationRecord
from olga_cli.telemetry import genai, otlp, transport
from olga_cli.telemetry.settings import TelemetrySettings
from olga_cli.telemetry.traceparent import SAMPLED, TraceIds, new_span_id

log = logging.getLogger("olga.telemetry")
# The span thread's turn. Waking it for every record (a queue's notify) costs a thread switch and a
# turn of the GIL per request; spans carry the record's own times, so encoding them a fraction of a
# second later changes nothing a collector shows.
BATCH_EVERY = 0.2
_ID_LIMIT = (1 << 64) - 1


class Tracing:
    """One per server: ``observe`` queues committed records; ``close`` flushes what is queued."""

    def __init__(self, settings: TelemetrySettings) -> None:
        from olga_cli import __version__

        self.settings = settings
        self.dropped = 0
        self._pending: collections.deque[GenerationRecord] = collections.deque()
        self._closing = threading.Event()
        self._sender = transport.sender(settings, self._closing)
        resource = {
            **settings.resource,
            "service.name": settings.service_name,
            "telemetry.sdk.language": "python",
            "telemetry.sdk.name": "olga",
            "telemetry.sdk.version": __version__,
        }
        self._encoder = otlp.Encoder(dict(resource), ("olga", __version__))
        self._thread = threading.Thread(target=self._run, name="olga-tracing", daemon=True)
        self._thread.start()

    def observe(self, record: GenerationRecord) -> None:
        if record.trace is None or record.trace.passthrough:
            return
        if len(self._pending) >= self.settings.queue_size:
            self.dropped += 1
            return
        self._pending.append(record)  # atomic: the span thread pops from the other end

    def close(self) -> None:
        """Export what is queued (waiting at most the exporter's timeout), then stop."""
        self._closing.set()
        self._thread.join()
        self._sender.close()

    def _run(self) -> None:
        batch: list[bytes] = []
        oldest = 0.0  # when the batch's first span was encoded
        while True:
            closing = self._closing.wait(BATCH_EVERY)
            while self._pending:
                record = self._pending.popleft()
                try:
                    spans = self.spans(record)
                except Exception:  # a span we cannot encode must not stop the ones after it
                    log.exception("could not encode the spans of %s", record.id)
                    continue
                if spans and not batch:
                    oldest = time.monotonic()
                batch += spans
                if len(batch) >= self.settings.batch_size:
                    self._sender.send(self._encoder.request(batch))
                    batch = []
            if batch and (closing or time.monotonic() - oldest >= self.settings.schedule_delay):
                self._sender.send(self._encoder.request(batch))
                batch = []
            if closing:
                return

    def spans(self, record: GenerationRecord) -> list[bytes]:
        """The request's span and a child per attempt, encoded; none when the sampler says so."""
        ids = record.trace
        assert ids is not None
        if not self._sampled(ids):
            return []
        capture = (ids.input_text, ids.output_text) if self.settings.capture_content else None
        data = genai.request_span(record, capture=capture)
        flags = (ids.flags & 0xFF) | otlp.HAS_IS_REMOTE
        trace_id = ids.trace_id.to_bytes(16, "big")
        if ids.parent_span_id is None:
            spans = [self._encoder.span(data, trace_id, ids.span_id, None, flags)]
        else:
            parent = ids.parent_span_id.to_bytes(8, "big")
            spans = [self._encoder.span(data, trace_id, ids.span_id, parent, flags | otlp.IS_REMOTE)]
        own = ids.span_id.to_bytes(8, "big")
        for attempt, child in genai.attempt_spans(record):
            span_id = ids.attempt_spans.get(id(attempt)) or new_span_id()  # a skipped target had none
            spans.append(self._encoder.span(child, trace_id, span_id, own, flags))
        return spans

    def _sampled(self, ids: TraceIds) -> bool:
        """The SDKs' samplers, from OTEL_TRACES_SAMPLER: parent-based ones follow the caller's flag."""
        name = self.settings.sampler
        if name.startswith("parentbased_") and ids.parent_span_id is not None:
            return bool(ids.flags & SAMPLED)
        root = name.removeprefix("parentbased_")
        if root == "traceidratio":
            return (ids.trace_id & _ID_LIMIT) < round(self.settings.sampler_ratio * (_ID_LIMIT + 1))
        return root == "always_on"

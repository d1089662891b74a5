"""olga's hand-written OTLP encoder against the OpenTelemetry SDK's: a record with every field set
gives, decoded with opentelemetry-proto, the same spans as the SDK path olga used before (spans built
with the SDK's tracer from the same span data, encoded by the OTLP exporter's own encoder)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from opentelemetry import trace as api
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from olga_cli import __version__
from olga_cli.records import Attempt, GenerationRecord
from olga_cli.telemetry import genai, otlp
from olga_cli.telemetry.export import Tracing
from olga_cli.telemetry.settings import TelemetrySettings
from olga_cli.telemetry.traceparent import TraceIds

TRACE_ID, PARENT, SPAN_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, 0x1122334455667788


def full_record() -> GenerationRecord:
    """Every field a span reads, set (and a skipped target with no status, a retried 429)."""
    attempts = [
        Attempt("openai", "gpt-4o-mini", 429, 12.5, error="rate_limited: slow down", key_label="key-1"),
        Attempt("azure", "gpt-4o-mini", None, 0.0, error="breaker_open: skipped"),
        Attempt("anthropic", "claude-haiku-4-5", 200, 80.25, key_label="key-2", started_ms=20.0),
    ]
    ids = TraceIds(TRACE_ID, SPAN_ID, PARENT, flags=1, input_text='[{"role":"user"}]', output_text="Hi ☃")
    ids.attempt_spans = {id(attempts[0]): 0xA1, id(attempts[2]): 0xA3}  # the skipped one had none
    return GenerationRecord(
        id="gen-0123456789abcdef",
        created_at=time.time(),
        key_id="k1",
        key_name="tester",
        endpoint="/v1/chat/completions",
        model_requested="fast",
        team_id="team-a",
        app="eval",
        model="anthropic/claude-haiku-4-5-20251001",
        provider="anthropic",
        upstream_id="msg_01",
        streamed=True,
        status=503,
        error="upstream_unavailable",
        finish_reason="end_turn",
        tokens_prompt=1234,
        tokens_completion=56,
        tokens_cached=1000,
        tokens_cache_write=7,
        usage_estimated=True,
        cost_pico=123_456_789,
        latency_ms=150.75,
        ttft_ms=42.5,
        overhead_ms=0.6789,
        request_id="req-1",
        session_id="sess-1",
        dropped=["logprobs"],
        attempts=attempts,
        guardrails=[
            {"type": "pii", "entity": "email", "stage": "input", "action": "block", "offsets": [1, 2]},
            {"type": "regex", "name": "ticket", "action": "log", "score": 0.5, "extra": {"a": [1]}},
        ],
        tags=["checkout", "nightly"],
        end_user="user-42",
        trace=ids,
    )


def sdk_spans(record: GenerationRecord, *, capture: bool) -> list[ReadableSpan]:
    """What the SDK path made of a record: spans started with preset ids, parent and times."""
    ids = record.trace
    assert ids is not None
    exporter = InMemorySpanExporter()
    chosen: Iterator[int] = iter(
        [ids.span_id] + [ids.attempt_spans.get(id(a), 0xB2) for a in record.attempts]
    )

    class Preset:
        def generate_span_id(self) -> int:
            return next(chosen)

        def generate_trace_id(self) -> int:
            return ids.trace_id

    provider = TracerProvider(resource=Resource.create({"service.name": "olga-x"}), id_generator=Preset())  # type: ignore[arg-type]
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("olga", __version__)
    remote = SpanContext(ids.trace_id, PARENT, is_remote=True, trace_flags=TraceFlags(ids.flags))
    kinds = {"server": SpanKind.SERVER, "client": SpanKind.CLIENT}
    data = genai.request_span(record, capture=(ids.input_text, ids.output_text) if capture else None)
    span = tracer.start_span(
        data.name,
        api.set_span_in_context(NonRecordingSpan(remote)),
        kinds[data.kind],
        data.all_attributes(),
        start_time=data.start_ns,
    )
    for event in data.events:
        span.add_event(event.name, event.attributes, timestamp=event.time_ns)
    for _, child in genai.attempt_spans(record):
        attempt = tracer.start_span(
            child.name,
            api.set_span_in_context(span),
            kinds[child.kind],
            child.all_attributes(),
            start_time=child.start_ns,
        )
        if child.error is not None:
            attempt.set_status(Status(StatusCode.ERROR, child.error))
        attempt.end(end_time=child.end_ns)
    if data.error is not None:
        span.set_status(Status(StatusCode.ERROR, data.error))
    span.end(end_time=data.end_ns)
    return list(exporter.get_finished_spans())


def comparable(request: ExportTraceServiceRequest) -> list[Span]:
    (resource_spans,) = request.resource_spans
    (scope_spans,) = resource_spans.scope_spans
    assert (scope_spans.scope.name, scope_spans.scope.version) == ("olga", __version__)
    spans = []
    for span in scope_spans.spans:
        span.flags &= otlp.HAS_IS_REMOTE | otlp.IS_REMOTE  # olga also writes the trace flags (bits 0-7)
        if span.status.code == 0:
            span.ClearField("status")  # the SDK writes an empty status where olga writes none
        if int.from_bytes(span.span_id, "big") not in (SPAN_ID, 0xA1, 0xA3):
            span.ClearField("span_id")  # the skipped target's, drawn at random when its span is made
        spans.append(span)
    return sorted(spans, key=lambda s: (s.kind, s.start_time_unix_nano))


@pytest.mark.parametrize("capture", [False, True])
def test_hand_encoded_spans_decode_to_what_the_sdk_exported(capture: bool) -> None:
    record = full_record()
    tracing = Tracing(TelemetrySettings(enabled=True, service_name="olga-x", capture_content=capture))
    try:
        tracing.spans(record)  # the second time, repeating pairs come from the encoder's cache
        raw = tracing._encoder.request(tracing.spans(record))
    finally:
        tracing.close()
    ours = ExportTraceServiceRequest.FromString(raw)
    resource = {a.key: a.value.string_value for a in ours.resource_spans[0].resource.attributes}
    assert resource["service.name"] == "olga-x"
    (request_span,) = [
        s for s in ours.resource_spans[0].scope_spans[0].spans if s.kind == Span.SPAN_KIND_SERVER
    ]
    assert request_span.flags == 0x301  # sampled, parent known to be remote, and remote
    assert ("gen_ai.input.messages" in {a.key for a in request_span.attributes}) is capture
    spans = comparable(ours)
    assert len(spans) == 4
    assert spans == comparable(encode_spans(sdk_spans(record, capture=capture)))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "é" * 61,
        "x" * 123,
        "y" * 124,
        "z" * 5000,
        0,
        127,
        128,
        2**63 - 1,
        -1,
        -(2**63),
        0.1,
        True,
        False,
        ["a", "b" * 200],
    ],
)
@pytest.mark.parametrize("key", ["k", "olga." + "k" * 120])
def test_every_size_of_attribute_decodes_as_written(key: str, value: genai.AttributeValue) -> None:
    """Lengths that take one varint byte and those that take more, on both sides of the fast paths."""
    span = Span.FromString(otlp.attribute(key, value) * 2)  # two Span.attributes fields in a row
    assert [a.key for a in span.attributes] == [key, key]
    decoded = span.attributes[0].value
    kind = decoded.WhichOneof("value")
    got = (
        [v.string_value for v in decoded.array_value.values]
        if kind == "array_value"
        else getattr(decoded, kind)
    )
    assert (got, type(got)) == (value, type(value))


def test_a_lone_surrogate_from_a_callers_json_still_makes_a_span() -> None:
    record = full_record()
    record.model_requested = "gpt\ud800"  # json.loads('"gpt\\ud800"') gives this
    tracing = Tracing(TelemetrySettings(enabled=True))
    try:
        request = ExportTraceServiceRequest.FromString(tracing._encoder.request(tracing.spans(record)))
    finally:
        tracing.close()
    server = [s for s in request.resource_spans[0].scope_spans[0].spans if s.kind == Span.SPAN_KIND_SERVER]
    assert server[0].name == "chat gpt?"

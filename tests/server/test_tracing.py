"""OpenTelemetry traces: olga's GenAI spans reach a real OTLP receiver, continue the caller's trace and
hand it on upstream; nothing is sent when tracing is off; contents only when opted in, never for ZDR."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import openai
import pytest
from anthropic import AsyncAnthropic

from olga_cli.errors import UserError
from olga_cli.telemetry.settings import telemetry_settings
from tests.fakes.anthropic_upstream import FakeAnthropic, start_fake_anthropic
from tests.fakes.gateway import RunningGateway, mint_key, point_anthropic_at, point_openai_at, start_gateway
from tests.fakes.openai_upstream import FakeOpenAI, Script, error_body
from tests.fakes.otlp_collector import CLIENT, SERVER, FakeCollector, GrpcCollector
from tests.server.guardrails_support import add_guardrail

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
CALLER_TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
HELLO = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
async def collector() -> AsyncIterator[FakeCollector]:
    running = await FakeCollector().start()
    yield running
    await running.close()


async def traced_gateway(
    home: Path, fake_openai: FakeOpenAI, collector_url: str, monkeypatch: pytest.MonkeyPatch
) -> RunningGateway:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector_url)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "olga-under-test")
    point_openai_at(home, fake_openai.url)
    return await start_gateway(home)


@asynccontextmanager
async def traced(
    home: Path, fake_openai: FakeOpenAI, collector_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningGateway]:
    """``traced_gateway``, closed on the way out (which flushes its batch of spans)."""
    gateway = await traced_gateway(home, fake_openai, collector_url, monkeypatch)
    try:
        yield gateway
    finally:
        await gateway.close()


def client(gateway: RunningGateway, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.v1, api_key=key, max_retries=0)


async def test_a_request_is_a_genai_span_with_a_child_per_attempt_continuing_the_callers_trace(
    home: Path,
    fake_openai: FakeOpenAI,
    collector: FakeCollector,
    api_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with traced(home, fake_openai, collector.url, monkeypatch) as gateway:
        fake_openai.script(
            Script(status=429, body=error_body("slow down"), headers={"retry-after": "0"}), Script()
        )
        raw = await client(gateway, api_key).chat.completions.with_raw_response.create(
            model="openai/gpt-4o-mini",
            messages=HELLO,
            extra_headers={"traceparent": CALLER_TRACEPARENT},  # type: ignore[arg-type]
        )
    generation_id = raw.headers["x-olga-generation-id"]
    (request,) = collector.by_kind(SERVER)
    assert request.name == "chat openai/gpt-4o-mini"
    assert (request.trace_id, request.parent_span_id) == (CALLER_TRACE, CALLER_SPAN)
    assert request.resource["service.name"] == "olga-under-test"
    attributes = request.attributes
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "openai/gpt-4o-mini"
    assert attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"  # as the provider named it
    assert attributes["gen_ai.response.id"].startswith("chatcmpl-fake")
    assert attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (12, 7)
    assert attributes["olga.generation.id"] == generation_id
    assert attributes["olga.key.name"] == "tester"
    assert attributes["olga.cost.pico"] == 6_000_000 and attributes["olga.cost.usd"] == pytest.approx(6e-6)
    assert attributes["olga.attempts"] == 2 and attributes["http.response.status_code"] == 200
    assert "gen_ai.input.messages" not in attributes  # contents only when opted in
    # One CLIENT child per attempt, the 429 marked as an error; the provider saw each attempt's span.
    attempts = sorted(collector.by_kind(CLIENT), key=lambda s: s.start_ns)
    assert [s.attributes["http.response.status_code"] for s in attempts] == [429, 200]
    assert [s.status_code for s in attempts] == [2, 0]
    assert all(s.parent_span_id == request.span_id and s.trace_id == CALLER_TRACE for s in attempts)
    assert attempts[0].attributes["olga.provider.key_label"] == "key-1"
    sent = [r.headers["traceparent"] for r in fake_openai.requests]
    assert sent == [f"00-{CALLER_TRACE}-{s.span_id}-01" for s in attempts]
    assert request.start_ns <= attempts[0].start_ns <= attempts[1].start_ns <= request.end_ns
    assert abs(request.start_ns - time.time_ns()) < 60e9


async def test_streamed_translated_request_has_a_first_token_event(
    home: Path,
    fake_openai: FakeOpenAI,
    collector: FakeCollector,
    api_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_anthropic: FakeAnthropic = await start_fake_anthropic()
    point_anthropic_at(home, fake_anthropic.url)
    try:
        async with traced(home, fake_openai, collector.url, monkeypatch) as gateway:
            stream = await client(gateway, api_key).chat.completions.create(
                model="anthropic/claude-haiku-4-5",
                messages=HELLO,
                stream=True,  # type: ignore[arg-type]
            )
            async for _ in stream:
                pass
    finally:
        await fake_anthropic.close()
    (request,) = collector.by_kind(SERVER)
    assert request.attributes["gen_ai.provider.name"] == "anthropic"
    assert request.attributes["olga.streamed"] is True
    assert request.attributes["gen_ai.usage.output_tokens"] > 0
    assert request.parent_span_id == ""  # no traceparent from the caller: a new trace
    (first_token,) = [e for e in request.events if e[0] == "olga.first_token"]
    assert request.start_ns < first_token[1] <= request.end_ns
    (attempt,) = collector.by_kind(CLIENT)
    assert attempt.attributes["gen_ai.provider.name"] == "anthropic"
    assert fake_anthropic.requests[-1][1]["traceparent"] == f"00-{request.trace_id}-{attempt.span_id}-01"


async def test_contents_only_when_opted_in_and_never_for_zdr_keys(
    home: Path,
    fake_openai: FakeOpenAI,
    collector: FakeCollector,
    api_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    _, zdr_key = await mint_key(home, name="private", zdr=True)
    async with traced(home, fake_openai, collector.url, monkeypatch) as gateway:
        await client(gateway, api_key).chat.completions.create(model="gpt-4o-mini", messages=HELLO)  # type: ignore[arg-type]
        await client(gateway, zdr_key).chat.completions.create(model="gpt-4o-mini", messages=HELLO)  # type: ignore[arg-type]
    spans = {s.attributes["olga.key.name"]: s for s in collector.by_kind(SERVER)}
    assert "Say hello" in spans["tester"].attributes["gen_ai.input.messages"]
    assert "Hello from the fake provider." in spans["tester"].attributes["gen_ai.output.messages"]
    assert "gen_ai.input.messages" not in spans["private"].attributes
    assert "gen_ai.output.messages" not in spans["private"].attributes


async def test_a_guardrail_block_is_an_event_on_an_error_span(
    home: Path,
    fake_openai: FakeOpenAI,
    collector: FakeCollector,
    api_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with traced(home, fake_openai, collector.url, monkeypatch) as gateway:
        await add_guardrail(gateway, type="pii", stage="input", action="block", entities=("email",))
        with pytest.raises(openai.UnprocessableEntityError):
            await client(gateway, api_key).chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "mail me at ada@example.com"}]
            )
    (request,) = collector.by_kind(SERVER)
    assert request.attributes["error.type"] == "guardrail_blocked"
    assert request.attributes["olga.guardrail.findings"] == 1
    (block,) = [e for e in request.events if e[0] == "olga.guardrail.block"]
    assert block[2]["olga.guardrail.entity"] == "email" and block[2]["olga.guardrail.stage"] == "input"
    assert "ada@example.com" not in json.dumps([request.attributes, request.events])
    assert collector.by_kind(CLIENT) == []  # never reached a provider


async def test_nothing_is_sent_when_tracing_is_off_and_the_callers_traceparent_passes_through(
    home: Path, fake_openai: FakeOpenAI, collector: FakeCollector, api_key: str
) -> None:
    point_openai_at(home, fake_openai.url)
    gateway = await start_gateway(home)
    try:
        raw = await client(gateway, api_key).chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=HELLO,
            extra_headers={"traceparent": CALLER_TRACEPARENT},  # type: ignore[arg-type]
        )
        await client(gateway, api_key).chat.completions.create(
            model="gpt-4o-mini",
            messages=HELLO,
            extra_headers={"traceparent": "00-not-a-trace"},  # type: ignore[arg-type]
        )
    finally:
        await gateway.close()
    assert collector.exports == 0
    assert fake_openai.requests[0].headers["traceparent"] == CALLER_TRACEPARENT
    assert "traceparent" not in fake_openai.requests[1].headers  # an invalid one is not handed on
    assert float(raw.headers["x-olga-overhead-ms"]) >= 0


async def test_a_collector_that_is_down_or_slow_changes_nothing_for_the_caller(
    home: Path, fake_openai: FakeOpenAI, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = await FakeCollector(delay=3.0).start()
    try:
        for url in ("http://127.0.0.1:9", slow.url):  # port 9: nothing listens (connection refused)
            async with traced(home, fake_openai, url, monkeypatch) as gateway:
                started = time.perf_counter()
                for _ in range(5):
                    await client(gateway, api_key).chat.completions.create(
                        model="gpt-4o-mini", messages=HELLO
                    )  # type: ignore[arg-type]
                assert time.perf_counter() - started < 2.5
    finally:
        await slow.close()


async def test_an_export_the_collector_cannot_take_yet_is_sent_again(
    home: Path, fake_openai: FakeOpenAI, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = await FakeCollector(unavailable=2).start()  # 503 twice, as OTLP/HTTP says to retry
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "1")  # each batch at the span thread's next turn
    try:
        async with traced(home, fake_openai, busy.url, monkeypatch) as gateway:
            await client(gateway, api_key).chat.completions.create(model="gpt-4o-mini", messages=HELLO)  # type: ignore[arg-type]
            for _ in range(50):  # while serving, not at shutdown
                if busy.exports:
                    break
                await asyncio.sleep(0.1)
            assert len(busy.headers) == 3 and busy.exports == 1
    finally:
        await busy.close()
    assert len(busy.by_kind(SERVER)) == 1  # delivered once


async def test_overhead_header_can_be_turned_off(home: Path, fake_openai: FakeOpenAI, api_key: str) -> None:
    from tests.fakes.gateway import configure

    configure(home, server={"overhead_header": False})
    point_openai_at(home, fake_openai.url)
    gateway = await start_gateway(home)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(
                gateway.v1 + "/chat/completions",
                json={"model": "gpt-4o-mini", "messages": HELLO},
                headers={"Authorization": f"Bearer {api_key}"},
            ) as response:
                assert response.status == 200
                assert "x-olga-overhead-ms" not in response.headers
    finally:
        await gateway.close()


def test_settings_follow_the_standard_variables_and_config() -> None:
    assert not telemetry_settings({}, {}).enabled
    on = telemetry_settings({}, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"})
    assert on.enabled and on.service_name == "olga" and not on.capture_content
    assert not telemetry_settings(
        {}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"}
    ).enabled
    from_file = telemetry_settings(
        {"telemetry": {"endpoint": "http://127.0.0.1:4318", "capture_content": True}}, {}
    )
    assert from_file.enabled and from_file.capture_content
    with pytest.raises(UserError, match="protocol"):
        telemetry_settings(
            {}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}
        )
    with pytest.raises(UserError, match="endpoint"):
        telemetry_settings({"telemetry": {"endpoint": "localhost"}}, {})


def test_settings_resolve_where_and_how_spans_are_sent() -> None:
    base = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}
    assert telemetry_settings({}, base).endpoint == "http://collector:4318/v1/traces"
    signal = {**base, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://c.example/otlp/traces"}
    assert telemetry_settings({}, signal).endpoint == "https://c.example/otlp/traces"  # used as it is
    configured = {"telemetry": {"endpoint": "http://from-config:4318", "headers": {"x-a": "1", "x-b": "2"}}}
    assert telemetry_settings(configured, {}).endpoint == "http://from-config:4318/v1/traces"
    both = telemetry_settings(
        configured, {**base, "OTEL_EXPORTER_OTLP_HEADERS": "x-b=two%20words, junk ,x-c=3"}
    )
    assert both.endpoint == "http://collector:4318/v1/traces"  # the variables win
    assert both.headers == {"x-a": "1", "x-b": "two words", "x-c": "3"}
    grpc = telemetry_settings({}, {**base, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert (grpc.protocol, grpc.endpoint) == ("grpc", "http://collector:4318/")  # a service, no path
    tuned = telemetry_settings(
        {},
        {
            **base,
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.25",
            "OTEL_BSP_SCHEDULE_DELAY": "500",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,team=a%2Cb",
        },
    )
    assert (tuned.compression, tuned.sampler, tuned.sampler_ratio) == (
        "gzip",
        "parentbased_traceidratio",
        0.25,
    )
    assert tuned.schedule_delay == 0.5
    assert tuned.resource == {"deployment.environment": "prod", "team": "a,b"}
    for wrong, match in (
        ({"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, "compression"),
        ({"OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER"),
        ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, "ratio"),
        ({"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "0"}, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
    ):
        with pytest.raises(UserError, match=match):
            telemetry_settings({}, {**base, **wrong})


async def test_headers_and_gzip_from_the_standard_variables_reach_the_collector(
    home: Path,
    fake_openai: FakeOpenAI,
    collector: FakeCollector,
    api_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-token=Bearer%20a%2Cb")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
    async with traced(home, fake_openai, collector.url, monkeypatch) as gateway:
        await client(gateway, api_key).chat.completions.create(model="gpt-4o-mini", messages=HELLO)  # type: ignore[arg-type]
    (headers,) = collector.headers
    assert headers["Content-Encoding"] == "gzip" and headers["x-collector-token"] == "Bearer a,b"
    (request,) = collector.by_kind(SERVER)
    assert request.resource["deployment.environment"] == "test"
    assert request.resource["service.name"] == "olga-under-test"


async def test_a_callers_unsampled_trace_is_not_exported_unless_the_sampler_says_always(
    home: Path,
    fake_openai: FakeOpenAI,
    collector: FakeCollector,
    api_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unsampled = f"00-{CALLER_TRACE}-{CALLER_SPAN}-00"
    for sampler in ("parentbased_always_on", "always_on"):  # the first is the default
        monkeypatch.setenv("OTEL_TRACES_SAMPLER", sampler)
        async with traced(home, fake_openai, collector.url, monkeypatch) as gateway:
            await client(gateway, api_key).chat.completions.create(
                model="gpt-4o-mini",
                messages=HELLO,
                extra_headers={"traceparent": unsampled},  # type: ignore[arg-type]
            )
        assert fake_openai.requests[-1].headers["traceparent"].endswith("-00")  # handed on unsampled
        assert len(collector.by_kind(SERVER)) == (0 if sampler == "parentbased_always_on" else 1)


async def test_anthropic_sdk_spans_name_the_messages_route(
    home: Path,
    fake_openai: FakeOpenAI,
    collector: FakeCollector,
    api_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with traced(home, fake_openai, collector.url, monkeypatch) as gateway:
        anthropic = AsyncAnthropic(base_url=gateway.url, api_key=api_key, max_retries=0)
        await anthropic.messages.create(model="openai/gpt-4o-mini", max_tokens=50, messages=HELLO)  # type: ignore[arg-type]
    (request,) = collector.by_kind(SERVER)
    assert request.attributes["http.route"] == "/v1/messages"
    assert request.attributes["gen_ai.provider.name"] == "openai"


async def test_spans_go_over_grpc_when_the_protocol_says_so(
    home: Path, fake_openai: FakeOpenAI, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = GrpcCollector()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")  # grpcio hides the encoding it got
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "X-Tenant=acme")
    try:
        async with traced(home, fake_openai, f"http://127.0.0.1:{receiver.port}", monkeypatch) as gateway:
            await client(gateway, api_key).chat.completions.create(
                model="gpt-4o-mini",
                messages=HELLO,
                extra_headers={"traceparent": CALLER_TRACEPARENT},  # type: ignore[arg-type]
            )
    finally:
        receiver.close()
    (request,) = [s for s in receiver.spans if s.kind == SERVER]
    (attempt,) = [s for s in receiver.spans if s.kind == CLIENT]
    assert (request.trace_id, request.parent_span_id) == (CALLER_TRACE, CALLER_SPAN)
    assert attempt.parent_span_id == request.span_id
    assert request.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert receiver.metadata[0]["x-tenant"] == "acme"  # gRPC metadata keys are lower case

"""GET /metrics: Prometheus text that a Prometheus parser reads, counting what the gateway served."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import aiohttp
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from olga_cli.records import Attempt, GenerationRecord
from olga_cli.server.metrics import Metrics, route_template
from tests.fakes.gateway import RunningGateway
from tests.fakes.openai_upstream import FakeOpenAI, Script, error_body


async def _scrape(gateway: RunningGateway) -> tuple[str, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(gateway.url + "/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    return text, {family.name: family for family in text_string_to_metric_families(text)}


def _value(family: Any, sample_name: str, **labels: str) -> float:
    matches = [
        s.value
        for s in family.samples
        if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(matches) == 1, (sample_name, labels, family.samples)
    return float(matches[0])


async def test_requests_tokens_cost_latency_ttft_and_upstream_errors(
    gateway: RunningGateway, fake_openai: FakeOpenAI, api_key: str
) -> None:
    client = openai.AsyncOpenAI(base_url=gateway.v1, api_key=api_key, max_retries=0)
    messages = [{"role": "user", "content": "Say hello"}]
    await client.chat.completions.create(model="openai/gpt-4o-mini", messages=messages)  # type: ignore[arg-type]
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=messages,
        stream=True,  # type: ignore[arg-type]
        stream_options={"include_usage": True},
    )
    async for _ in stream:
        pass
    fake_openai.script(Script(status=400, body=error_body("bad temperature")))
    with pytest.raises(openai.BadRequestError):
        await client.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError):
        await client.chat.completions.create(model="no-such-model", messages=messages)  # type: ignore[arg-type]

    text, families = await _scrape(gateway)
    served = "openai/gpt-4o-mini-2024-07-18"
    requests = families["olga_requests"]
    assert (
        _value(requests, "olga_requests_total", route="/v1/chat/completions", model=served, status="200") == 2
    )
    assert (
        _value(requests, "olga_requests_total", route="/v1/chat/completions", status="400", provider="") == 1
    )
    tokens = families["olga_tokens"]
    assert _value(tokens, "olga_tokens_total", model=served, kind="prompt") == 2 * 12
    assert _value(tokens, "olga_tokens_total", model=served, kind="completion") == 2 * 7
    # Cost is printed as an exact decimal: 2 x 0.000006 USD.
    assert f'olga_cost_usd_total{{model="{served}",provider="openai"}} 0.000012' in text
    latency = families["olga_request_duration_seconds"]
    assert _value(latency, "olga_request_duration_seconds_count", model=served) == 2
    assert _value(latency, "olga_request_duration_seconds_bucket", model=served, le="+Inf") == 2
    ttft = families["olga_time_to_first_token_seconds"]
    assert _value(ttft, "olga_time_to_first_token_seconds_count", model=served) == 1
    attempts = families["olga_upstream_attempts"]
    assert _value(attempts, "olga_upstream_attempts_total", provider="openai", outcome="200") == 2
    assert _value(attempts, "olga_upstream_attempts_total", provider="openai", outcome="400") == 1
    assert (
        _value(
            families["olga_upstream_errors"],
            "olga_upstream_errors_total",
            provider="openai",
            reason="http_400",
        )
        == 1
    )
    assert _value(families["olga_requests_in_flight"], "olga_requests_in_flight") == 0


async def test_in_flight_gauge_counts_a_request_while_it_waits_on_the_provider(
    gateway: RunningGateway, fake_openai: FakeOpenAI, api_key: str
) -> None:
    fake_openai.script(Script(delay=1.5))
    client = openai.AsyncOpenAI(base_url=gateway.v1, api_key=api_key, max_retries=0)
    _, families = await _scrape(gateway)
    tasks_idle = _value(families["olga_event_loop_tasks"], "olga_event_loop_tasks")
    call = asyncio.create_task(
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "slow"}])
    )  # type: ignore[arg-type]
    seen = 0.0
    for _ in range(50):
        _, families = await _scrape(gateway)
        seen = _value(families["olga_requests_in_flight"], "olga_requests_in_flight")
        if seen:
            break
        await asyncio.sleep(0.05)
    assert seen == 1
    assert _value(families["olga_event_loop_tasks"], "olga_event_loop_tasks") > tasks_idle  # its handler
    await call
    await client.close()
    _, families = await _scrape(gateway)
    assert _value(families["olga_requests_in_flight"], "olga_requests_in_flight") == 0
    # Back down: the fake provider runs in this process too, and keeps a task for the connection
    # olga keeps alive to it, the one task more allowed.
    for _ in range(50):
        _, families = await _scrape(gateway)
        if _value(families["olga_event_loop_tasks"], "olga_event_loop_tasks") <= tasks_idle + 1:
            break
        await asyncio.sleep(0.05)
    assert _value(families["olga_event_loop_tasks"], "olga_event_loop_tasks") <= tasks_idle + 1


def test_route_templates_keep_labels_bounded() -> None:
    assert route_template("/api/v1/chat/completions") == "/v1/chat/completions"
    assert route_template("/v1/openai/chat/completions") == "/v1/{provider}/chat/completions"
    assert route_template("/v1/anthropic/v1/messages") == "/v1/{provider}/v1/messages"
    assert route_template("/v1/messages") == "/v1/messages"


def test_label_values_are_escaped_and_failures_are_counted_by_kind() -> None:
    metrics = Metrics()
    record = GenerationRecord(
        id="gen-1",
        created_at=0.0,
        key_id="k",
        key_name="k",
        endpoint="/v1/chat/completions",
        model_requested='we"ird\\model',
        status=502,
        latency_ms=30_000.0,
        cost_pico=1,
        attempts=[Attempt("openai", "m", None, 10.0, error="timeout: no first byte in 120 s")],
    )
    metrics.observe(record)
    families = {f.name: f for f in text_string_to_metric_families(metrics.render())}
    assert _value(families["olga_requests"], "olga_requests_total", model='we"ird\\model') == 1
    assert _value(families["olga_upstream_errors"], "olga_upstream_errors_total", reason="timeout") == 1
    assert _value(families["olga_cost_usd"], "olga_cost_usd_total") == float(Decimal("0.000000000001"))
    latency = families["olga_request_duration_seconds"]
    assert _value(latency, "olga_request_duration_seconds_bucket", le="10.0") == 0
    assert _value(latency, "olga_request_duration_seconds_bucket", le="30.0") == 1

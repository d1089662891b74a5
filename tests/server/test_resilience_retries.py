"""Retries, fallbacks and timeouts end to end: the caller gets an answer or a clear error, and the
record holds every attempt."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import openai
import pytest

from tests.fakes.gateway import point_openai_at
from tests.fakes.openai_upstream import FakeOpenAI, Script, error_body
from tests.server.resilience_support import (
    CHAT,
    SECOND_MODEL,
    Olga,
    add_second_provider,
    cli,
    free_port,
    start_olga,
)

FAST = {"backoff_base": 0.02, "backoff_max": 0.05}


@pytest.fixture
async def second() -> AsyncIterator[FakeOpenAI]:
    fake = await FakeOpenAI().start()
    fake.model_suffix = "-served-by-second"
    yield fake
    await fake.close()


@pytest.fixture
async def olga(home: Path, fake_openai: FakeOpenAI, second: FakeOpenAI) -> AsyncIterator[Olga]:
    add_second_provider(home, second)
    running = await start_olga(home, fake_openai, resilience=FAST)
    yield running
    await running.close()


async def test_429_then_200_is_one_retry_with_two_attempts_recorded_and_one_charge(
    olga: Olga, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        Script(
            status=429, body=error_body("Rate limit reached", "requests"), headers={"retry-after-ms": "50"}
        )
    )
    async with olga.sdk() as client:
        raw = await client.chat.completions.with_raw_response.create(**CHAT)  # type: ignore[call-overload]
    assert raw.parse().choices[0].message.content == "Hello from the fake provider."
    record = await olga.record(raw.headers["x-olga-generation-id"])
    assert [(a.provider, a.status, a.key_label) for a in record.attempts] == [
        ("openai", 429, "key-1"),
        ("openai", 200, "key-1"),
    ]
    assert record.attempts[0].error == "Rate limit reached"
    assert record.status == 200 and len(fake_openai.requests) == 2
    assert await olga.charges() == [6_000_000]  # 12 * 0.15 + 7 * 0.60 per million, once


async def test_500_on_the_primary_model_and_success_on_the_fallback_from_the_models_list(
    olga: Olga, fake_openai: FakeOpenAI, second: FakeOpenAI
) -> None:
    fake_openai.script(Script(status=500, body=error_body("The server had an error", "server_error")))
    async with olga.sdk() as client:
        raw = await client.chat.completions.with_raw_response.create(
            **CHAT,
            extra_body={"models": [SECOND_MODEL]},  # type: ignore[call-overload]
        )
    completion = raw.parse()
    assert completion.model == "gpt-4o-mini-served-by-second"  # as the serving provider named it
    assert len(fake_openai.requests) == 1  # a 500 is not repeated by default: the work may have been done
    assert second.last.headers["Authorization"] == "Bearer sk-second-upstream"
    assert "models" not in second.last.body
    record = await olga.record(raw.headers["x-olga-generation-id"])
    assert [(a.provider, a.status) for a in record.attempts] == [("openai", 500), ("second", 200)]
    assert (record.provider, record.model) == ("second", "second/gpt-4o-mini-served-by-second")
    assert await olga.charges() == [record.cost_pico] and record.cost_pico > 0


async def test_config_fallbacks_are_tried_when_retries_on_the_model_are_spent(
    home: Path, fake_openai: FakeOpenAI, second: FakeOpenAI
) -> None:
    add_second_provider(home, second)
    olga = await start_olga(
        home, fake_openai, resilience=FAST, fallbacks={"openai/gpt-4o-mini": [SECOND_MODEL]}
    )
    try:
        fake_openai.script(*[Script(status=503, body=error_body("overloaded"))] * 3)
        status, headers, body = await olga.post(CHAT)
        assert status == 200 and body["model"] == "gpt-4o-mini-served-by-second"
        record = await olga.record(headers["x-olga-generation-id"])
        assert [(a.provider, a.status) for a in record.attempts] == [("openai", 503)] * 3 + [("second", 200)]
    finally:
        await olga.close()


async def test_500_is_retried_where_the_config_says_so(home: Path, fake_openai: FakeOpenAI) -> None:
    olga = await start_olga(home, fake_openai, openai_extra={"retry_on": [500]}, resilience=FAST)
    try:
        fake_openai.script(Script(status=500, body=error_body("oops")))
        status, _, _ = await olga.post(CHAT)
        assert status == 200 and len(fake_openai.requests) == 2
    finally:
        await olga.close()


async def test_every_attempt_failing_is_502_upstream_error_and_nothing_is_charged(
    olga: Olga, fake_openai: FakeOpenAI, second: FakeOpenAI
) -> None:
    fake_openai.script(Script(status=500, body=error_body("boom")))
    second.script(Script(status=502, body=error_body("bad gateway")))
    status, headers, body = await olga.post({**CHAT, "models": [SECOND_MODEL]})
    assert (
        status == 502
        and body["error"]["code"] == "upstream_error"
        and body["error"]["type"] == "server_error"
    )
    assert "second answered 502: bad gateway" in body["error"]["message"]
    record = await olga.record(headers["x-olga-generation-id"])
    assert record.status == 502 and [a.status for a in record.attempts] == [500, 502]
    assert await olga.charges() == []


async def test_a_hang_hits_the_first_byte_timeout_504_and_the_provider_sees_the_cancel(
    home: Path, fake_openai: FakeOpenAI
) -> None:
    point_openai_at(home, fake_openai.url)
    cli(
        "providers",
        "add",
        "openai",
        "--first-byte-timeout",
        "0.3",
        "--connect-timeout",
        "0.5",
        "--idle-timeout",
        "1",
    )
    olga = await start_olga(home, fake_openai, resilience=FAST)
    try:
        fake_openai.script(Script(hang=True))
        started = time.monotonic()
        with pytest.raises(openai.APIStatusError) as caught:
            async with olga.sdk() as client:
                await client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
        assert caught.value.status_code == 504 and time.monotonic() - started < 2.0
        assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "upstream_timeout"
        assert len(fake_openai.requests) == 1  # a read timeout is not retried unless retry_on has 504
        await fake_openai.wait_abandoned.wait()
        record = await olga.record(caught.value.response.headers["x-olga-generation-id"])
        assert record.attempts[0].error is not None and record.attempts[0].error.startswith(
            "first_byte_timeout"
        )
    finally:
        await olga.close()


async def test_connection_refused_is_retried_before_giving_up_with_502(
    home: Path, fake_openai: FakeOpenAI
) -> None:
    olga = await start_olga(
        home, fake_openai, openai_extra={"base_url": f"http://127.0.0.1:{free_port()}/v1"}, resilience=FAST
    )
    try:
        status, headers, body = await olga.post(CHAT)
        assert status == 502 and body["error"]["code"] == "upstream_error"
        record = await olga.record(headers["x-olga-generation-id"])
        assert [a.error.split(":")[0] for a in record.attempts if a.error] == [
            "connect"
        ] * 3  # 1 + max_retries
    finally:
        await olga.close()


async def test_a_context_length_400_falls_over_to_a_larger_window_without_marking_the_first_unhealthy(
    home: Path, fake_openai: FakeOpenAI, second: FakeOpenAI
) -> None:
    add_second_provider(home, second, context_window=1_000_000)
    olga = await start_olga(home, fake_openai, resilience={**FAST, "breaker_threshold": 1})
    try:
        too_long = error_body(
            "This model's maximum context length is 128000 tokens.", code="context_length_exceeded"
        )
        fake_openai.script(Script(status=400, body=too_long))
        status, _, body = await olga.post({**CHAT, "models": [SECOND_MODEL]})
        assert status == 200 and body["model"] == "gpt-4o-mini-served-by-second"
        # With a threshold of one failure, a blamed provider would now be skipped: it is not.
        status, _, _ = await olga.post(CHAT)
        assert status == 200 and len(fake_openai.requests) == 2
    finally:
        await olga.close()

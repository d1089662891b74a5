"""The official OpenAI SDK, pointed at olga, against a fake OpenAI: the two-line change works."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest

from olga_cli.store.db import open_store
from tests.fakes.gateway import RunningGateway, point_openai_at, start_gateway
from tests.fakes.openai_upstream import FakeOpenAI, Script


def client(gateway: RunningGateway, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.v1, api_key=key, max_retries=0)


async def test_non_streaming_answer_usage_and_record(
    gateway: RunningGateway, fake_openai: FakeOpenAI, api_key: str
) -> None:
    raw = await client(gateway, api_key).chat.completions.with_raw_response.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "Say hello"}],
        extra_headers={"X-Request-ID": "req-42", "X-Title": "my-app"},
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "Hello from the fake provider."
    assert completion.usage is not None and completion.usage.prompt_tokens == 12
    # The provider's own id and model name come back untouched.
    assert completion.id.startswith("chatcmpl-fake")
    assert completion.model == "gpt-4o-mini-2024-07-18"
    # The olga key never reaches the provider; the provider's key does; the model is the upstream name.
    sent = fake_openai.last
    assert sent.headers["Authorization"] == "Bearer sk-upstream-test-key"
    assert api_key not in json.dumps(sent.headers)
    assert sent.body["model"] == "gpt-4o-mini"
    generation_id = raw.headers["x-olga-generation-id"]
    db = await open_store(gateway.home / "olga.db")
    try:
        record = await db.records.get_generation(generation_id)
    finally:
        await db.close()
    assert record is not None
    assert (record.status, record.tokens_prompt, record.tokens_completion) == (200, 12, 7)
    # 12 * 0.15 + 7 * 0.60 per million tokens = 0.000006 USD = 6_000_000 picodollars
    assert record.cost_pico == 6_000_000
    assert record.request_id == "req-42" and record.app == "my-app"
    assert record.upstream_id == completion.id
    assert record.overhead_ms >= 0 and record.latency_ms >= record.overhead_ms
    assert record.attempts[0].key_label == "key-1" and record.attempts[0].status == 200


async def test_streaming_hides_the_usage_chunk_the_client_did_not_ask_for(
    gateway: RunningGateway, fake_openai: FakeOpenAI, api_key: str
) -> None:
    stream = await client(gateway, api_key).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}], stream=True
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from the fake provider."
    assert all(c.choices for c in chunks), "a usage-only chunk leaked to a client that did not ask for it"
    # olga asked for usage upstream all the same, so the charge is exact.
    assert fake_openai.last.body["stream_options"] == {"include_usage": True}
    assert gateway.gateway.snapshot.by_hash  # the key is known
    key_state = next(iter(gateway.gateway.snapshot.by_id.values()))
    assert key_state.spent == 6_000_000


async def test_streaming_keeps_the_usage_chunk_for_a_client_that_asked(
    gateway: RunningGateway, api_key: str
) -> None:
    stream = await client(gateway, api_key).chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "Say hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 7


async def test_stream_record_is_readable_when_the_stream_ends(gateway: RunningGateway, api_key: str) -> None:
    async with client(gateway, api_key).chat.completions.with_streaming_response.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as response:
        generation_id = response.headers["x-olga-generation-id"]
        async for _ in response.iter_lines():
            pass
    # No window in which the record is missing: ask the gateway straight away.
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{gateway.v1}/generation",
            params={"id": generation_id},
            headers={"Authorization": f"Bearer {api_key}"},
        ) as reply:
            assert reply.status == 200
            data = (await reply.json())["data"]
    assert data["streamed"] is True and data["status"] == 200
    assert data["tokens_completion"] == 7 and data["cost"] == "0.000006"
    assert data["ttft_ms"] is not None


async def test_mock_echo_needs_no_provider_key(gateway: RunningGateway, api_key: str) -> None:
    completion = await client(gateway, api_key).chat.completions.create(
        model="mock/echo", messages=[{"role": "user", "content": "ping pong"}]
    )
    assert completion.choices[0].message.content == "ping pong"
    assert completion.usage is not None and completion.usage.completion_tokens == 2


async def test_mock_echo_streams(gateway: RunningGateway, api_key: str) -> None:
    stream = await client(gateway, api_key).chat.completions.create(
        model="mock/echo", messages=[{"role": "user", "content": "one two three"}], stream=True
    )
    pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(pieces) == "one two three"
    assert len([p for p in pieces if p]) == 3


async def test_provider_error_is_passed_through_as_it_came(
    gateway: RunningGateway, fake_openai: FakeOpenAI, api_key: str
) -> None:
    from tests.fakes.openai_upstream import Script, error_body

    fake_openai.script(
        Script(
            status=400,
            body=error_body("temperature 1.5 is not supported by this model", code="unsupported_value"),
        )
    )
    with pytest.raises(openai.BadRequestError) as caught:
        await client(gateway, api_key).chat.completions.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "x"}], temperature=1.5
        )
    assert caught.value.code == "unsupported_value"
    assert "temperature 1.5 is not supported" in str(caught.value)


async def test_chunks_carry_no_usage_field_the_client_did_not_ask_for(
    gateway: RunningGateway, api_key: str
) -> None:
    """Exactly as the provider streams without include_usage: no "usage" key in any chunk."""
    import aiohttp

    payload = {"model": "openai/gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    async with aiohttp.ClientSession() as session:
        async with session.post(
            gateway.v1 + "/chat/completions", json=payload, headers={"Authorization": f"Bearer {api_key}"}
        ) as reply:
            raw = await reply.read()
    events = [line[len(b"data: ") :] for line in raw.split(b"\n") if line.startswith(b"data: ")]
    assert events[-1] == b"[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert len(chunks) >= 3
    assert all("usage" not in chunk for chunk in chunks)
    assert (
        "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
        == "Hello from the fake provider."
    )


async def test_a_cookie_the_provider_sets_is_never_sent_back_with_anyones_request(
    home: Path, fake_openai: FakeOpenAI, api_key: str
) -> None:
    # Providers' CDNs set cookies (Cloudflare's __cf_bm); kept, they would ride along with every
    # key's requests, one caller's state shared with all. (By a host name: cookies from an IP
    # address are never kept anyway.)
    point_openai_at(home, fake_openai.url.replace("127.0.0.1", "localhost"))
    running = await start_gateway(home)
    try:
        fake_openai.script(Script(headers={"Set-Cookie": "__cf_bm=abc123; Path=/; HttpOnly"}), Script())
        sdk = client(running, api_key)
        for _ in range(2):
            await sdk.chat.completions.create(
                model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}]
            )
    finally:
        await running.close()
    assert len(fake_openai.requests) == 2
    assert [r.headers.get("Cookie") for r in fake_openai.requests] == [None, None]

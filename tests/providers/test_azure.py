"""Azure OpenAI: deployments, api-version and the api-key header, checked first with openai's own
AzureOpenAI client against the fake, then through olga from every caller API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from anthropic import AsyncAnthropic
from openai import AsyncAzureOpenAI, AsyncOpenAI, NotFoundError

from tests.cli.terminal import olga_async
from tests.fakes.azure_upstream import FakeAzure
from tests.fakes.gateway import RunningGateway, start_gateway


@pytest.fixture
async def fake_azure() -> AsyncIterator[FakeAzure]:
    fake = await FakeAzure().start()
    yield fake
    await fake.close()


@pytest.fixture
async def olga_azure(home: Path, fake_azure: FakeAzure, api_key: str) -> AsyncIterator[RunningGateway]:
    added = await olga_async(
        "providers", "add", "work", "--preset", "azure", "--base-url", fake_azure.url,
        "--api-key", fake_azure.key, "--deployment", "gpt-4o=prod-4o", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    running = await start_gateway(home)
    yield running
    await running.close()


async def test_the_fake_speaks_what_the_azure_sdk_sends(fake_azure: FakeAzure) -> None:
    client = AsyncAzureOpenAI(
        azure_endpoint=fake_azure.url, api_key=fake_azure.key, api_version="2024-10-21", max_retries=0
    )
    reply = await client.chat.completions.create(
        model="prod-4o", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.choices[0].message.content == fake_azure.reply
    seen = fake_azure.seen[-1]
    assert seen.path == "/openai/deployments/prod-4o/chat/completions"
    assert seen.query == {"api-version": "2024-10-21"} and seen.headers["api-key"] == fake_azure.key
    stream = await client.chat.completions.create(
        model="prod-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == fake_azure.reply
    with pytest.raises(NotFoundError):
        await client.chat.completions.create(model="no-such", messages=[{"role": "user", "content": "hi"}])
    wrong = AsyncAzureOpenAI(
        azure_endpoint=fake_azure.url, api_key="x", api_version="2024-10-21", max_retries=0
    )
    with pytest.raises(Exception, match="Access denied"):
        await wrong.chat.completions.create(model="prod-4o", messages=[{"role": "user", "content": "hi"}])


async def test_chat_through_olga_reaches_the_mapped_deployment(
    olga_azure: RunningGateway, fake_azure: FakeAzure, api_key: str
) -> None:
    client = AsyncOpenAI(base_url=olga_azure.v1, api_key=api_key, max_retries=0)
    raw = await client.chat.completions.with_raw_response.create(
        model="work/gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.parse().choices[0].message.content == fake_azure.reply
    seen = fake_azure.seen[-1]
    assert seen.path == "/openai/deployments/prod-4o/chat/completions"
    assert seen.query == {"api-version": "2024-10-21"}
    assert seen.headers["api-key"] == fake_azure.key and "Authorization" not in seen.headers
    record = json.loads(
        (await olga_async("generation", raw.headers["x-olga-generation-id"], "--json")).stdout
    )
    data = record
    assert data["provider"] == "work" and data["status"] == 200 and data["tokens_prompt"] == 11
    # Priced as gpt-4o: 11 input tokens at $2.5/M and 4 output tokens at $10/M.
    assert data["cost"] == "0.0000675"

    stream = await client.chat.completions.create(
        model="work/gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == fake_azure.reply
    assert fake_azure.seen[-1].body["stream_options"] == {"include_usage": True}
    assert all(c.usage is None for c in chunks)  # olga's own usage request stays invisible


async def test_a_model_named_like_its_deployment_needs_no_mapping(
    olga_azure: RunningGateway, fake_azure: FakeAzure, api_key: str
) -> None:
    client = AsyncOpenAI(base_url=olga_azure.v1, api_key=api_key, max_retries=0)
    await client.chat.completions.create(
        model="work/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert fake_azure.seen[-1].path == "/openai/deployments/gpt-4o-mini/chat/completions"
    with pytest.raises(NotFoundError) as missing:  # Azure's own 404, passed through
        await client.chat.completions.create(
            model="work/gpt-4.1", messages=[{"role": "user", "content": "hi"}]
        )
    assert "deployment for this resource does not exist" in str(missing.value)


async def test_messages_and_responses_callers_are_translated_for_azure(
    olga_azure: RunningGateway, fake_azure: FakeAzure, api_key: str
) -> None:
    anthropic = AsyncAnthropic(base_url=olga_azure.url, api_key=api_key, max_retries=0)
    message = await anthropic.messages.create(
        model="work/gpt-4o", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.content[0].text == fake_azure.reply  # type: ignore[union-attr]
    sent = fake_azure.seen[-1]
    assert sent.path == "/openai/deployments/prod-4o/chat/completions"
    assert sent.body["max_completion_tokens"] == 50
    openai = AsyncOpenAI(base_url=olga_azure.v1, api_key=api_key, max_retries=0)
    response = await openai.responses.create(model="work/gpt-4o", input="hi")
    assert response.output_text == fake_azure.reply
    assert fake_azure.seen[-1].path == "/openai/deployments/prod-4o/chat/completions"


async def test_embeddings_go_to_their_deployment(
    olga_azure: RunningGateway, fake_azure: FakeAzure, api_key: str
) -> None:
    fake_azure.deployments["text-embedding-3-small"] = "text-embedding-3-small"
    client = AsyncOpenAI(base_url=olga_azure.v1, api_key=api_key, max_retries=0)
    result = await client.embeddings.create(model="work/text-embedding-3-small", input=["a", "b"])
    assert len(result.data) == 2
    seen = fake_azure.seen[-1]
    assert seen.path == "/openai/deployments/text-embedding-3-small/embeddings"
    assert seen.query == {"api-version": "2024-10-21"}

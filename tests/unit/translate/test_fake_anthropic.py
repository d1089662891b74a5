"""The fake Anthropic upstream speaks the real wire format: the official SDK talks to it unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import anthropic
import pytest
import pytest_asyncio

from olga_cli.providers.chat_to_messages import MessagesStreamToChat
from olga_cli.providers.sse import SSEParser
from tests.fakes.anthropic_upstream import FakeAnthropic, Reply, ToolUse, start_fake_anthropic
from tests.unit.translate.sdk_streams import openai_final_completion

MODEL = "claude-haiku-4-5-20251001"
HELLO = [{"role": "user", "content": "Hello"}]


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    server = await start_fake_anthropic()
    yield server
    await server.close()


@pytest_asyncio.fixture
async def client(fake: FakeAnthropic) -> AsyncIterator[anthropic.AsyncAnthropic]:
    sdk = anthropic.AsyncAnthropic(base_url=fake.url, api_key="sk-ant-test", max_retries=0)
    yield sdk
    await sdk.close()


async def raw_stream(fake: FakeAnthropic, body: dict[str, object]) -> bytes:
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.url}/v1/messages", json=body, headers=headers) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        return await response.read()


@pytest.mark.asyncio
async def test_text_reply_with_cache_usage(fake: FakeAnthropic, client: anthropic.AsyncAnthropic) -> None:
    fake.reply(
        text="Bonjour!",
        input_tokens=30,
        output_tokens=4,
        cache_read_input_tokens=100,
        cache_creation_input_tokens=20,
    )
    message = await client.messages.create(model=MODEL, max_tokens=64, messages=HELLO, system="Speak French.")
    assert message.content[0].type == "text" and message.content[0].text == "Bonjour!"
    assert message.stop_reason == "end_turn" and message.model == MODEL
    usage = message.usage
    assert (
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_read_input_tokens,
        usage.cache_creation_input_tokens,
    ) == (30, 4, 100, 20)
    path, headers, body = fake.requests[0]
    assert path == "/v1/messages"
    # Recent SDKs send the key as a bearer token; older ones as x-api-key. The fake takes both.
    assert "sk-ant-test" in (
        headers.get("x-api-key"),
        headers.get("authorization", "").removeprefix("Bearer "),
    )
    assert headers["anthropic-version"]
    assert body == {"model": MODEL, "max_tokens": 64, "messages": HELLO, "system": "Speak French."}


@pytest.mark.asyncio
async def test_tool_use_reply(fake: FakeAnthropic, client: anthropic.AsyncAnthropic) -> None:
    fake.reply(
        text=None,
        tool_uses=[
            ToolUse("get_weather", {"city": "Paris"}),
            ToolUse("get_time", {"tz": "CET"}, id="toolu_x"),
        ],
    )
    message = await client.messages.create(model=MODEL, max_tokens=64, messages=HELLO)
    assert message.stop_reason == "tool_use"
    assert [(b.type, getattr(b, "name", None), getattr(b, "input", None)) for b in message.content] == [
        ("tool_use", "get_weather", {"city": "Paris"}),
        ("tool_use", "get_time", {"tz": "CET"}),
    ]
    assert message.content[1].id == "toolu_x"  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_streamed_reply_is_rebuilt_by_the_sdk(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.reply(
        text="Let me check the weather.",
        thinking="The user wants weather.",
        tool_uses=[ToolUse("w", {"city": "Paris", "days": [1, 2]})],
        input_tokens=50,
        output_tokens=20,
        cache_read_input_tokens=7,
    )
    async with client.messages.stream(model=MODEL, max_tokens=64, messages=HELLO) as stream:
        texts = [text async for text in stream.text_stream]
        message = await stream.get_final_message()
    assert "".join(texts) == "Let me check the weather."
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use"]
    assert message.content[0].thinking == "The user wants weather."  # type: ignore[union-attr]
    assert message.content[2].input == {"city": "Paris", "days": [1, 2]}  # type: ignore[union-attr]
    assert message.stop_reason == "tool_use"
    assert (
        message.usage.input_tokens,
        message.usage.output_tokens,
        message.usage.cache_read_input_tokens,
    ) == (50, 20, 7)
    assert fake.requests[0][2]["stream"] is True


@pytest.mark.asyncio
async def test_stream_has_every_event_type_in_order(fake: FakeAnthropic) -> None:
    fake.reply(text="Hi", tool_uses=[ToolUse("f", {"a": 1})])
    events = SSEParser().feed(
        await raw_stream(fake, {"model": MODEL, "max_tokens": 9, "messages": HELLO, "stream": True})
    )
    names = [e.event for e in events]
    assert names[0] == "message_start" and names[1] == "content_block_start" and names[2] == "ping"
    assert names[-2:] == ["message_delta", "message_stop"]
    deltas = [e.json()["delta"]["type"] for e in events if e.event == "content_block_delta"]
    assert "text_delta" in deltas and "input_json_delta" in deltas
    assert all(e.json()["type"] == e.event for e in events)


@pytest.mark.asyncio
async def test_mid_stream_error_raises_in_the_sdk(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.reply(text="partial", stream_error={"type": "overloaded_error", "message": "Overloaded"})
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        async with client.messages.stream(model=MODEL, max_tokens=64, messages=HELLO) as stream:
            await stream.get_final_message()


@pytest.mark.parametrize(
    ("status", "exception", "kind"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.InternalServerError, "overloaded_error"),
    ],
)
@pytest.mark.asyncio
async def test_scripted_errors_come_back_as_the_sdk_exception(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic, status: int, exception: type[Exception], kind: str
) -> None:
    fake.fail(status, headers={"retry-after": "3"} if status == 429 else None)
    with pytest.raises(exception) as info:
        await client.messages.create(model=MODEL, max_tokens=64, messages=HELLO)
    error = info.value
    assert isinstance(error, anthropic.APIStatusError) and error.status_code == status
    assert error.body["error"]["type"] == kind  # type: ignore[index]
    if status == 429:
        assert error.response.headers["retry-after"] == "3"


@pytest.mark.asyncio
async def test_scripted_replies_are_used_in_order_then_the_default(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.reply(text="first")
    fake.fail(500)
    texts = []
    for _ in range(3):
        try:
            message = await client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
            texts.append(message.content[0].text)  # type: ignore[union-attr]
        except anthropic.InternalServerError:
            texts.append("error")
    assert texts == ["first", "error", Reply().text]
    assert len(fake.requests) == 3 and fake.pending == 0


@pytest.mark.asyncio
async def test_delay_makes_a_client_timeout(fake: FakeAnthropic) -> None:
    fake.reply(delay=0.5)
    sdk = anthropic.AsyncAnthropic(base_url=fake.url, api_key="k", max_retries=0, timeout=0.1)
    with pytest.raises(anthropic.APITimeoutError):
        await sdk.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
    await sdk.close()


@pytest.mark.asyncio
async def test_count_tokens(fake: FakeAnthropic, client: anthropic.AsyncAnthropic) -> None:
    estimated = await client.messages.count_tokens(model=MODEL, messages=HELLO)
    assert estimated.input_tokens > 0
    fake.count_tokens_result = 1234
    assert (await client.messages.count_tokens(model=MODEL, messages=HELLO)).input_tokens == 1234
    assert [path for path, _, _ in fake.requests] == ["/v1/messages/count_tokens"] * 2


@pytest.mark.asyncio
async def test_requests_like_the_real_api_refuses(fake: FakeAnthropic) -> None:
    async with aiohttp.ClientSession() as session:
        no_key = await session.post(
            f"{fake.url}/v1/messages",
            json={"model": MODEL, "max_tokens": 1, "messages": HELLO},
            headers={"anthropic-version": "2023-06-01"},
        )
        assert no_key.status == 401 and (await no_key.json())["error"]["type"] == "authentication_error"
        no_max = await session.post(
            f"{fake.url}/v1/messages",
            json={"model": MODEL, "messages": HELLO},
            headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
        )
        assert no_max.status == 400 and "max_tokens" in (await no_max.json())["error"]["message"]


@pytest.mark.asyncio
async def test_fake_stream_translated_for_a_chat_caller(fake: FakeAnthropic) -> None:
    """The end-to-end path the gateway will take: real bytes from the fake, through the translator."""
    fake.reply(text="Sunny in Paris.", input_tokens=10, output_tokens=5, cache_creation_input_tokens=3)
    raw = await raw_stream(fake, {"model": MODEL, "max_tokens": 9, "messages": HELLO, "stream": True})
    translator = MessagesStreamToChat("anthropic/claude-haiku-4-5", include_usage=True)
    parser = SSEParser()
    out = b"".join(part for event in parser.feed(raw) for part in translator.feed(event)) + b"".join(
        translator.finish()
    )
    completion = openai_final_completion(out)
    assert completion.choices[0].message.content == "Sunny in Paris."
    assert completion.usage is not None and completion.usage.prompt_tokens == 13

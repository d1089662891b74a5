"""Model discovery: ``GET /v1/models`` and ``/v1/models/{id}`` in Anthropic's shape for a caller that
sends ``anthropic-version`` (the Anthropic SDK, Claude Code), in OpenAI's otherwise; ``GET /`` and
``HEAD /`` answer without a key (Claude Code's reachability check)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import anthropic
import openai
import pytest

from tests.clients.support import fixture
from tests.fakes.gateway import RunningGateway, configure, mint_key, start_gateway


@pytest.fixture
async def served(home: Path) -> AsyncIterator[tuple[RunningGateway, str, str]]:
    """olga with openai and anthropic configured; an open key and one limited to three models."""
    configure(home, providers={"openai": {"api_key": "x"}, "anthropic": {"api_key": "y"}})
    _, open_key = await mint_key(home, name="open")
    _, narrow_key = await mint_key(
        home, name="narrow", models=("mock/echo", "gpt-4o-mini", "anthropic/claude-haiku-4-5")
    )
    running = await start_gateway(home)
    yield running, open_key, narrow_key
    await running.close()


def _anthropic(running: RunningGateway, key: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=running.url, api_key=key, max_retries=0)


async def test_the_anthropic_sdk_pages_through_every_model_the_key_may_use(
    served: tuple[RunningGateway, str, str],
) -> None:
    running, open_key, _ = served
    everything = [m.id async for m in openai.AsyncOpenAI(base_url=running.v1, api_key=open_key).models.list()]
    client = _anthropic(running, open_key)
    first = await client.models.list(limit=7)
    assert [m.id for m in first.data] == everything[:7] and first.has_more
    assert (first.first_id, first.last_id) == (everything[0], everything[6])
    paged = [m.id async for m in await client.models.list(limit=7)]  # the SDK follows after_id
    assert paged == everything and len(everything) > 50
    default = await client.models.list()
    assert len(default.data) == 20
    model = first.data[0]
    assert model.type == "model" and model.display_name == model.id
    assert model.created_at.year == 1970 and model.lifecycle == "active"


async def test_before_id_pages_backwards_and_the_last_page_says_no_more(
    served: tuple[RunningGateway, str, str],
) -> None:
    running, open_key, _ = served
    client = _anthropic(running, open_key)
    everything = [m.id async for m in await client.models.list(limit=1000)]
    back = await client.models.list(before_id=everything[10], limit=4)
    assert [m.id for m in back.data] == everything[6:10] and back.has_more
    start = await client.models.list(before_id=everything[2], limit=5)
    assert [m.id for m in start.data] == everything[:2] and not start.has_more
    end = await client.models.list(after_id=everything[-3], limit=5)
    assert [m.id for m in end.data] == everything[-2:] and not end.has_more
    whole = await client.models.list(limit=1000)
    assert not whole.has_more and whole.last_id == everything[-1]
    retired_only = await client.models.list(extra_query={"lifecycle": "retired"})
    assert retired_only.data == [] and retired_only.first_id is None


async def test_the_list_holds_only_what_the_key_may_use_in_both_shapes(
    served: tuple[RunningGateway, str, str],
) -> None:
    running, _, narrow_key = served
    wanted = ["anthropic/claude-haiku-4-5", "mock/echo", "openai/gpt-4o-mini"]
    listed = [m.id async for m in await _anthropic(running, narrow_key).models.list()]
    assert sorted(listed) == wanted
    both = [m.id async for m in openai.AsyncOpenAI(base_url=running.v1, api_key=narrow_key).models.list()]
    assert sorted(both) == wanted


async def test_one_model_by_id_or_alias_in_each_shape(served: tuple[RunningGateway, str, str]) -> None:
    running, open_key, narrow_key = served
    client = _anthropic(running, open_key)
    haiku = await client.models.retrieve("anthropic/claude-haiku-4-5")  # the SDK sends the slash as %2F
    assert (haiku.id, haiku.type, haiku.max_tokens, haiku.max_input_tokens) == (
        "anthropic/claude-haiku-4-5",
        "model",
        64000,
        200000,
    )
    assert (await client.models.retrieve("claude-haiku-4-5")).id == "anthropic/claude-haiku-4-5"
    oa = await openai.AsyncOpenAI(base_url=running.v1, api_key=open_key).models.retrieve("gpt-4o-mini")
    assert (oa.id, oa.object, oa.owned_by) == ("openai/gpt-4o-mini", "model", "openai")
    with pytest.raises(anthropic.NotFoundError) as missing:
        await _anthropic(running, narrow_key).models.retrieve("openai/gpt-4o")  # not on this key
    assert missing.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    narrow = openai.AsyncOpenAI(base_url=running.v1, api_key=narrow_key, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        await narrow.models.retrieve("openai/gpt-4o")


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
        {"limit": "2.5"},
        {"limit": "-1"},
        {"after_id": "nobody/none"},
        {"before_id": "nobody/none"},
        {"after_id": "mock/echo", "before_id": "mock/echo"},
        {"lifecycle": "archived"},
    ],
)
async def test_bad_paging_is_a_400_in_anthropic_shape(
    served: tuple[RunningGateway, str, str], query: dict[str, str]
) -> None:
    running, open_key, _ = served
    with pytest.raises(anthropic.BadRequestError) as refused:
        await _anthropic(running, open_key).models.list(extra_query=query)
    body = refused.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert (
        next(iter(query)) in body["error"]["message"] or "after_id or before_id" in body["error"]["message"]
    )


async def test_a_bad_key_is_refused_in_the_callers_shape(served: tuple[RunningGateway, str, str]) -> None:
    running, _, _ = served
    with pytest.raises(anthropic.AuthenticationError) as refused:
        await _anthropic(running, "olga-not-a-key").models.list()
    assert refused.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    with pytest.raises(openai.AuthenticationError) as also:
        await openai.AsyncOpenAI(base_url=running.v1, api_key="olga-not-a-key", max_retries=0).models.list()
    assert also.value.code == "invalid_api_key"


async def test_claude_codes_discovery_request_is_answered_in_anthropic_shape(
    served: tuple[RunningGateway, str, str],
) -> None:
    running, _, narrow_key = served
    captured = fixture("claude_code_models")
    headers = {**captured["headers"], "x-api-key": narrow_key}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{running.url}{captured['path']}?{captured['query']}", headers=headers) as reply,
    ):
        assert reply.status == 200
        body = await reply.json()
    assert body["has_more"] is False and len(body["data"]) == 3
    assert {m["type"] for m in body["data"]} == {"model"}
    assert body["first_id"] == body["data"][0]["id"] and body["last_id"] == body["data"][-1]["id"]


async def test_root_answers_who_is_here_without_a_key(served: tuple[RunningGateway, str, str]) -> None:
    running, _, _ = served
    head = fixture("claude_code_head")
    async with aiohttp.ClientSession() as session:
        async with session.head(running.url + head["path"], headers=head["headers"]) as reply:
            assert reply.status == 200 and await reply.read() == b""
        async with session.get(running.url + "/") as reply:
            assert reply.status == 200
            about = await reply.json()
    assert about["name"] == "olga" and about["version"] and "/v1/messages" in about["apis"]

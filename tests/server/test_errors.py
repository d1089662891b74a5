"""Bad input gets a clear error in the route's API shape, with the contract's code, and loses nothing."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import pytest

from olga_cli.store.db import open_store
from tests.fakes.gateway import RunningGateway, configure, mint_key, start_gateway
from tests.fakes.openai_upstream import FakeOpenAI

CHAT = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
HI = [{"role": "user", "content": "hi"}]


async def post(
    url: str,
    *,
    key: str | None = None,
    json: object = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], dict]:
    all_headers = dict(headers or {})
    if key:
        all_headers["Authorization"] = f"Bearer {key}"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=json, data=data, headers=all_headers) as reply:
            return reply.status, dict(reply.headers), await reply.json(content_type=None)


def assert_openai_error(body: dict, code: str) -> str:
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    assert error["message"]
    return str(error["message"])


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer sk-olga-nope"},
        {"x-api-key": "sk-olga-nope"},
        {"Authorization": "Basic abc"},
    ],
)
async def test_missing_or_unknown_key_is_401(gateway: RunningGateway, headers: dict[str, str]) -> None:
    status, _, body = await post(gateway.v1 + "/chat/completions", json=CHAT, headers=headers)
    assert status == 401
    message = assert_openai_error(body, "invalid_api_key")
    assert "olga keys create" in message


async def test_all_three_auth_headers_are_accepted(gateway: RunningGateway, api_key: str) -> None:
    body = {"model": "mock/echo", "messages": [{"role": "user", "content": "hi"}]}
    for headers in (
        {"Authorization": f"Bearer {api_key}"},
        {"x-api-key": api_key},
        {"Authorization": f"Api-Key {api_key}"},
    ):
        status, _, reply = await post(gateway.v1 + "/chat/completions", json=body, headers=headers)
        assert status == 200, reply


@pytest.mark.parametrize("change", ["disabled", "expired", "deleted"])
async def test_disabled_expired_or_deleted_key_is_401(
    home: Path, fake_openai: FakeOpenAI, change: str
) -> None:
    configure(home, providers={"openai": {"base_url": fake_openai.url + "/v1", "api_key": "x"}})
    row, key = await mint_key(home, name="victim")
    db = await open_store(home / "olga.db")
    try:
        if change == "disabled":
            await db.keys.update_key(row.id, disabled=True)
        elif change == "expired":
            await db.keys.update_key(row.id, expires_at=time.time() - 1)
        else:
            await db.conn.execute("UPDATE keys SET deleted_at = ? WHERE id = ?", (time.time(), row.id))
    finally:
        await db.close()
    running = await start_gateway(home)
    try:
        status, _, body = await post(running.v1 + "/chat/completions", key=key, json=CHAT)
    finally:
        await running.close()
    assert status == 401
    assert change in assert_openai_error(body, "invalid_api_key")
    assert fake_openai.requests == []


async def test_malformed_json_is_400_and_recorded(gateway: RunningGateway, api_key: str) -> None:
    status, headers, body = await post(
        gateway.v1 + "/chat/completions",
        key=api_key,
        data=b'{"model": ',
        headers={"Content-Type": "application/json"},
    )
    assert status == 400
    assert "not valid JSON" in assert_openai_error(body, "invalid_request")
    db = await open_store(gateway.home / "olga.db")
    try:
        record = await db.records.get_generation(headers["x-olga-generation-id"])
    finally:
        await db.close()
    assert record is not None and record.status == 400 and record.error == "invalid_request"


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ([1, 2], None),
        ({"messages": []}, "model"),
        ({"model": 7, "messages": []}, "model"),
        ({"model": "mock/echo", "messages": HI, "stream": "yes"}, "stream"),
        ({"model": "mock/echo", "messages": HI, "max_tokens": -5}, "max_tokens"),
        ({"model": "mock/echo", "messages": HI, "models": "openai/gpt-4o"}, "models"),
        ({"model": "mock/echo", "messages": "hello"}, "messages"),
    ],
)
async def test_wrong_types_are_400_naming_the_field(
    gateway: RunningGateway, api_key: str, payload: object, param: str | None
) -> None:
    status, _, body = await post(gateway.v1 + "/chat/completions", key=api_key, json=payload)
    assert status == 400
    assert_openai_error(body, "invalid_request")
    assert body["error"]["param"] == param


async def test_unknown_model_is_400_unknown_model_pricing(gateway: RunningGateway, api_key: str) -> None:
    status, _, body = await post(
        gateway.v1 + "/chat/completions",
        key=api_key,
        json={"model": "openai/gpt-nonexistent", "messages": HI},
    )
    assert status == 400
    assert "olga models list" in assert_openai_error(body, "unknown_model_pricing")


async def test_provider_without_key_is_503(home: Path, api_key: str) -> None:
    running = await start_gateway(home)  # the built-in openai provider, OPENAI_API_KEY unset
    try:
        status, _, body = await post(running.v1 + "/chat/completions", key=api_key, json=CHAT)
    finally:
        await running.close()
    assert status == 503
    assert "OPENAI_API_KEY" in assert_openai_error(body, "provider_unavailable")


async def test_body_over_the_limit_is_413(home: Path, fake_openai: FakeOpenAI, api_key: str) -> None:
    configure(
        home,
        server={"max_body_mb": 1},
        providers={"openai": {"base_url": fake_openai.url + "/v1", "api_key": "x"}},
    )
    running = await start_gateway(home)
    try:
        huge = {
            "model": "openai/gpt-4o-mini",
            "messages": [{"role": "user", "content": "x" * (2 * 1024 * 1024)}],
        }
        status, _, body = await post(running.v1 + "/chat/completions", key=api_key, json=huge)
    finally:
        await running.close()
    assert status == 413
    assert "max_body_mb" in assert_openai_error(body, "request_too_large")
    assert fake_openai.requests == []


async def test_credits_that_cannot_cover_the_worst_case_are_402(home: Path, fake_openai: FakeOpenAI) -> None:
    configure(home, providers={"openai": {"base_url": fake_openai.url + "/v1", "api_key": "x"}})
    _, key = await mint_key(home, name="poor", credits_usd="0.0001")
    running = await start_gateway(home)
    try:
        # gpt-4o-mini output is $0.60 per million: 16384 output tokens cost ~$0.0098 > $0.0001
        status, _, body = await post(running.v1 + "/chat/completions", key=key, json=CHAT)
        assert status == 402
        message = assert_openai_error(body, "insufficient_credits")
        assert "olga credits topup poor" in message and "max_tokens" in message
        # A small enough max_tokens fits the balance.
        status, _, _ = await post(running.v1 + "/chat/completions", key=key, json={**CHAT, "max_tokens": 20})
        assert status == 200
    finally:
        await running.close()
    assert len(fake_openai.requests) == 1


async def test_unknown_route_is_404_in_the_route_shape(gateway: RunningGateway) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(gateway.v1 + "/nothing/here") as reply:
            assert reply.status == 404
            body = await reply.json()
    assert_openai_error(body, "not_found")


async def test_unknown_pinned_provider_is_404(gateway: RunningGateway, api_key: str) -> None:
    status, _, body = await post(gateway.v1 + "/nosuch/chat/completions", key=api_key, json=CHAT)
    assert status == 404
    assert "nosuch" in assert_openai_error(body, "not_found")


async def test_generation_of_another_key_is_404(gateway: RunningGateway, api_key: str) -> None:
    status, headers, _ = await post(gateway.v1 + "/chat/completions", key=api_key, json=CHAT)
    assert status == 200
    _, other = await mint_key(gateway.home, name="other")
    await gateway.refresh()
    async with aiohttp.ClientSession() as session:
        url = gateway.v1 + "/generation"
        params = {"id": headers["x-olga-generation-id"]}
        async with session.get(url, params=params, headers={"Authorization": f"Bearer {other}"}) as reply:
            assert reply.status == 404
        async with session.get(url, params=params, headers={"Authorization": f"Bearer {api_key}"}) as reply:
            assert reply.status == 200
            data = (await reply.json())["data"]
        # The provider's own response id finds the same record.
        async with session.get(
            url, params={"id": data["upstream_id"]}, headers={"Authorization": f"Bearer {api_key}"}
        ) as reply:
            assert (await reply.json())["data"]["id"] == data["id"]

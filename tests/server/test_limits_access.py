"""Model allow-lists on keys and teams, key expiry and rate multipliers, over HTTP."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import aiohttp
import openai
import pytest

from olga_cli.store.db import open_store
from tests.fakes.gateway import mint_key, point_openai_at, start_gateway
from tests.fakes.openai_upstream import FakeOpenAI
from tests.server.limits_support import Clock, add_team, chat, utc


async def test_models_outside_the_key_or_team_allow_list_get_403(home: Path, fake_openai: FakeOpenAI) -> None:
    point_openai_at(home, fake_openai.url)
    team = await add_team(home, "research", models=("openai/*",))
    _, member = await mint_key(home, name="member", team_id=team.id)
    _, narrow = await mint_key(home, name="narrow", team_id=team.id, models=("openai/gpt-4o-mini",))
    _, echo_only = await mint_key(home, name="echo-only", models=("mock/echo",))
    running = await start_gateway(home)
    try:
        async with aiohttp.ClientSession() as session:
            status, _, data = await chat(session, running, member, model="mock/echo")
            assert status == 403 and data["error"]["code"] == "model_not_allowed"
            assert "not allowed for this team" in data["error"]["message"]
            assert "olga teams update" in data["error"]["message"]
            assert (await chat(session, running, member, model="openai/gpt-4o-mini"))[0] == 200
            status, _, data = await chat(session, running, narrow, model="openai/gpt-4o")
            assert status == 403 and "not allowed for this key" in data["error"]["message"]
            status, _, data = await chat(
                session, running, echo_only, path="/messages", model="openai/gpt-4o-mini", max_tokens=10
            )
            assert status == 403 and data["error"]["type"] == "permission_error"
            assert data["error"]["code"] == "model_not_allowed"
        assert len(fake_openai.requests) == 1  # refusals never reach the provider

        listed = {}
        for name, key in (("member", member), ("narrow", narrow), ("echo-only", echo_only)):
            client = openai.AsyncOpenAI(base_url=running.v1, api_key=key)
            listed[name] = sorted([model.id async for model in client.models.list()])
    finally:
        await running.close()
    assert listed["member"] and all(model.startswith("openai/") for model in listed["member"])
    assert listed["narrow"] == ["openai/gpt-4o-mini"]
    assert listed["echo-only"] == ["mock/echo"]


async def test_a_key_expires_at_its_time(home: Path) -> None:
    start = utc("2026-11-18T10:00:00")
    _, key = await mint_key(home, name="short", expires_at=start + 3600)
    running = await start_gateway(home)
    clock = Clock(start).install(running)
    try:
        async with aiohttp.ClientSession() as session:
            assert (await chat(session, running, key))[0] == 200
            clock.now = start + 3599.9
            assert (await chat(session, running, key))[0] == 200
            clock.now = start + 3600
            status, _, data = await chat(session, running, key)
    finally:
        await running.close()
    assert status == 401 and data["error"]["code"] == "invalid_api_key"
    assert "expired" in data["error"]["message"]


@pytest.mark.parametrize(
    ("team_multiplier", "key_multiplier", "factor"), [("2", "1.5", 3), (None, "1.5", Decimal("1.5"))]
)
async def test_team_and_key_rate_multipliers_multiply_the_cost(
    home: Path, fake_openai: FakeOpenAI, team_multiplier: str | None, key_multiplier: str, factor: Decimal
) -> None:
    point_openai_at(home, fake_openai.url)
    team_id = None
    if team_multiplier is not None:
        team_id = (await add_team(home, "pricey", rate_multiplier=Decimal(team_multiplier))).id
    _, key = await mint_key(home, name="multiplied", team_id=team_id, rate_multiplier=Decimal(key_multiplier))
    running = await start_gateway(home)
    try:
        async with aiohttp.ClientSession() as session:
            status, headers, _ = await chat(session, running, key, model="openai/gpt-4o-mini")
    finally:
        await running.close()
    assert status == 200
    db = await open_store(home / "olga.db")
    try:
        record = await db.records.get_generation(headers["x-olga-generation-id"])
    finally:
        await db.close()
    assert record is not None
    assert record.cost_pico == int(6_000_000 * factor)  # 12 input and 7 output tokens of gpt-4o-mini

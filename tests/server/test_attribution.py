"""Tags and end users: read from headers and bodies of every API, recorded, reported, and capped by
limits on a tag, an end user, or each end user of a key, exactly under concurrency."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import openai
from anthropic import AsyncAnthropic

from olga_cli.gateway.admission.usage_limits import Limits
from olga_cli.store.db import open_store
from tests.cli.helpers import olga_async
from tests.fakes.gateway import RunningGateway, mint_key, point_openai_at, start_gateway
from tests.fakes.openai_upstream import FakeOpenAI
from tests.server.limits_support import add_limit

HELLO = [{"role": "user", "content": "hello there"}]


async def post(
    session: aiohttp.ClientSession,
    running: RunningGateway,
    key: str,
    headers: dict[str, str] | None = None,
    **body: Any,
) -> tuple[int, dict[str, Any]]:
    payload = {"model": "mock/echo", "messages": HELLO, **body}
    async with session.post(
        running.v1 + "/chat/completions",
        json=payload,
        headers={"Authorization": f"Bearer {key}", **(headers or {})},
    ) as reply:
        return reply.status, await reply.json()


async def generation(running: RunningGateway, generation_id: str) -> Any:
    db = await open_store(running.home / "olga.db")
    try:
        return await db.records.get_generation(generation_id)
    finally:
        await db.close()


async def test_tags_and_end_user_come_from_headers_and_bodies_of_each_api(
    home: Path, fake_openai: FakeOpenAI, api_key: str
) -> None:
    point_openai_at(home, fake_openai.url)
    running = await start_gateway(home)
    try:
        client = openai.AsyncOpenAI(base_url=running.v1, api_key=api_key, max_retries=0)
        raw = await client.chat.completions.with_raw_response.create(
            model="openai/gpt-4o-mini",
            messages=HELLO,  # type: ignore[arg-type]
            user="ada",
            metadata={"tags": "nightly-eval"},  # type: ignore[dict-item]
            extra_headers={"x-olga-tags": "checkout, nightly-eval"},
        )
        chat = await generation(running, raw.headers["x-olga-generation-id"])
        # metadata.tags is olga's: the provider never sees it (an empty metadata goes too); user stays.
        assert "metadata" not in fake_openai.last.body and fake_openai.last.body["user"] == "ada"
        # Taken from a copy: the body as parsed stays as sent, so a large body's members forwarded as
        # their own bytes (jsonwire.Spans) never carry the tags upstream.
        await client.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=HELLO,  # type: ignore[arg-type]
            metadata={"tags": "nightly-eval", "run": "r1"},
        )
        assert fake_openai.last.body["metadata"] == {"run": "r1"}
        anthropic = AsyncAnthropic(base_url=running.url, api_key=api_key, max_retries=0)
        reply = await anthropic.messages.with_raw_response.create(
            model="mock/echo",
            max_tokens=20,
            messages=HELLO,  # type: ignore[arg-type]
            metadata={"user_id": "grace"},
            extra_headers={"x-olga-tags": "support"},
        )
        messages = await generation(running, reply.headers["x-olga-generation-id"])
        header_wins = await client.chat.completions.with_raw_response.create(
            model="mock/echo",
            messages=HELLO,
            user="ada",
            extra_headers={"x-olga-user": "linus"},  # type: ignore[arg-type]
        )
        override = await generation(running, header_wins.headers["x-olga-generation-id"])
    finally:
        await running.close()
    assert (chat.tags, chat.end_user) == (["checkout", "nightly-eval"], "ada")
    assert (messages.tags, messages.end_user) == (["support"], "grace")
    assert (override.tags, override.end_user) == ([], "linus")
    assert chat.to_json()["tags"] == ["checkout", "nightly-eval"] and chat.to_json()["end_user"] == "ada"


async def test_unusable_tags_are_a_400_naming_the_header(home: Path, api_key: str) -> None:
    running = await start_gateway(home)
    try:
        async with aiohttp.ClientSession() as session:
            status, data = await post(
                session, running, api_key, {"x-olga-tags": ",".join(f"t{i}" for i in range(17))}
            )
            assert status == 400 and data["error"]["param"] == "x-olga-tags"
            status, data = await post(session, running, api_key, metadata={"tags": {"a": 1}})
            assert status == 400 and data["error"]["param"] == "metadata.tags"
    finally:
        await running.close()


async def test_a_tag_budget_holds_under_two_hundred_concurrent_requests(home: Path, api_key: str) -> None:
    await add_limit(home, "tag", "checkout", "requests", "daily", 7)
    running = await start_gateway(home)
    try:
        async with aiohttp.ClientSession() as session:
            tagged = {"x-olga-tags": "checkout"}
            results = await asyncio.gather(*(post(session, running, api_key, tagged) for _ in range(200)))
            untagged, _ = await post(session, running, api_key)
    finally:
        await running.close()
    statuses = [status for status, _ in results]
    assert statuses.count(200) == 7 and statuses.count(429) == 193
    refusal = next(data for status, data in results if status == 429)
    assert (
        refusal["error"]["code"] == "usage_limit_exceeded" and "tag 'checkout'" in refusal["error"]["message"]
    )
    assert untagged == 200  # the tag's budget, not the key's


async def test_each_end_user_of_a_key_has_its_own_budget_and_an_end_user_one_across_keys(
    home: Path,
) -> None:
    row, key = await mint_key(home, name="app")
    _, other_key = await mint_key(home, name="other-app")
    await add_limit(home, "key_each_user", row.id, "requests", "daily", 3)
    await add_limit(home, "user", "grace", "requests", "daily", 5)
    running = await start_gateway(home)
    try:
        async with aiohttp.ClientSession() as session:
            burst = [post(session, running, key, user=user) for user in ("ada", "linus") * 50]
            results = await asyncio.gather(*burst)
            # grace: 3 through "app" (its per-user cap), then 2 more through another key (her own cap).
            through_app = await asyncio.gather(
                *(post(session, running, key, user="grace") for _ in range(10))
            )
            elsewhere = await asyncio.gather(
                *(post(session, running, other_key, user="grace") for _ in range(10))
            )
            header_user, _ = await post(session, running, other_key, {"x-olga-user": "grace"})
        rebuilt = Limits()
        db = await open_store(home / "olga.db")
        try:
            await rebuilt.load(db)
        finally:
            await db.close()
        live = running.gateway.limits
    finally:
        await running.close()
    by_user: dict[str, list[int]] = {"ada": [], "linus": []}
    for index, (status, _) in enumerate(results):
        by_user[("ada", "linus")[index % 2]].append(status)
    assert all(statuses.count(200) == 3 for statuses in by_user.values())
    refusal = next(data for status, data in results if status == 429)["error"]["message"]
    assert "end user 'ada' of key 'app'" in refusal or "end user 'linus' of key 'app'" in refusal
    assert [s for s, _ in through_app].count(200) == 3
    assert [s for s, _ in elsewhere].count(200) == 2
    assert header_user == 429  # the header names the same end user, and her budget is spent
    for scope in (("user", "grace"), ("tag", "checkout"), ("user", "ada")):
        assert rebuilt.usage(*scope).total == live.usage(*scope).total  # rebuilt exactly after a restart


async def test_usage_and_logs_by_tag_and_user_and_limits_from_the_cli(home: Path, api_key: str) -> None:
    running = await start_gateway(home)
    try:
        async with aiohttp.ClientSession() as session:
            for tags, user in (("a,b", "ada"), ("a", "ada"), ("b", "grace"), ("", "")):
                headers = {"x-olga-tags": tags} if tags else {}
                assert (await post(session, running, api_key, headers, **({"user": user} if user else {})))[
                    0
                ] == 200
        by_tag = await olga_async("usage", "--since", "1h", "--by", "tag", "--json")
        by_user = await olga_async("usage", "--by", "user", "--since", "all", "--json")
        logs = await olga_async("logs", "--tag", "a", "--user", "ada", "--json")
        added = await olga_async(
            "limits",
            "add",
            "--each-user",
            "--key",
            "tester",
            "--metric",
            "cost",
            "--window",
            "daily",
            "--threshold",
            "0.5",
            "--json",
        )
        wrong = await olga_async(
            "limits",
            "add",
            "--each-user",
            "--tag",
            "a",
            "--metric",
            "requests",
            "--window",
            "daily",
            "--threshold",
            "5",
        )
        listed = await olga_async("limits", "list", "--json")
    finally:
        await running.close()

    tags = {row["tag"]: row["requests"] for row in json.loads(by_tag.stdout)["rows"]}
    assert tags == {"a": 2, "b": 2}
    users = {row["user"]: row["requests"] for row in json.loads(by_user.stdout)["rows"]}
    assert users == {"ada": 2, "grace": 1}
    lines = json.loads(logs.stdout)  # a list: one JSON array
    assert len(lines) == 2 and all(line["end_user"] == "ada" and "a" in line["tags"] for line in lines)
    assert added.exit_code == 0 and json.loads(added.stdout)["scope"] == "key_each_user"
    assert wrong.exit_code == 1 and "--each-user goes with --key KEY or --team TEAM" in wrong.output
    (each,) = [row for row in json.loads(listed.stdout) if row.get("each_user")]
    assert (each["scope_name"], each["usage"]) == ("tester", "0")  # mock/echo is free
    assert each["top_user"] in ("ada", "grace")

"""olga's own Redis script client (``store/redis/lean.py``), against a real Redis: the same answers as
redis-py, calls pipelined on one connection and matched to their replies in order, scripts sent again
after the server lost them, and a server gone or silent failing calls as ``OSError`` (Redis down)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from redis.exceptions import ResponseError

from olga_cli.store.redis.lean import LeanScripts
from olga_cli.store.redis.link import split_url
from tests.server.test_process import free_port
from tests.team.conftest import redis_prefix

LUA = "return {KEYS[1], tonumber(ARGV[1]) + 1, ARGV[2], false, {1, 'x'}}"


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async with redis_prefix() as prefixed:
        yield split_url(prefixed)[0]


async def test_answers_as_redis_py_does(url: str) -> None:
    lean = LeanScripts(url, timeout=1.0)
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        ours = await lean.run(LUA, ["a-key"], [41, "naïve"])
        assert (
            ours == await client.eval(LUA, 1, "a-key", 41, "naïve") == ["a-key", 42, "naïve", None, [1, "x"]]
        )
        with pytest.raises(ResponseError):  # a script's error is Redis's answer, not an outage
            await lean.run("return redis.call('NO-SUCH-COMMAND')", [], [])
        # A Lua number becomes an integer on the way out, for both.
        assert (
            await lean.run(LUA, ["b"], [1.5, ""])
            == await client.eval(LUA, 1, "b", 1.5, "")
            == ["b", 2, "", None, [1, "x"]]
        )
    finally:
        await lean.close()
        await client.aclose()


async def test_concurrent_calls_share_one_connection_in_order(url: str) -> None:
    lean = LeanScripts(url, timeout=5.0)
    try:
        slow = asyncio.create_task(lean.run(LUA, ["cancelled"], [0, "x"]))
        calls = [lean.run(LUA, [f"k{i}"], [i, str(i)]) for i in range(300)]
        await asyncio.sleep(0)
        slow.cancel()  # its reply still comes, and is dropped without shifting the others'
        answers = await asyncio.gather(*calls)
        assert [a[:3] for a in answers] == [[f"k{i}", i + 1, str(i)] for i in range(300)]
        assert await lean.run(LUA, ["after"], [0, "y"]) == ["after", 1, "y", None, [1, "x"]]
    finally:
        await lean.close()


async def test_a_script_the_server_lost_is_sent_again(url: str) -> None:
    lean = LeanScripts(url, timeout=1.0)
    client = redis.Redis.from_url(url)
    try:
        assert (await lean.run(LUA, ["k"], [1, "a"]))[1] == 2
        await client.script_flush()  # what a restarted Redis knows of olga's scripts
        assert (await lean.run(LUA, ["k"], [2, "a"]))[1] == 3
    finally:
        await lean.close()
        await client.aclose()


async def test_no_server_or_no_answer_is_an_os_error() -> None:
    """Refused at once; a server that never answers, after the timeout; then the next call connects
    again (here, to a server that still does not answer)."""
    refused = LeanScripts(f"redis://127.0.0.1:{free_port()}/0", timeout=1.0)
    with pytest.raises(OSError):
        await refused.run(LUA, ["k"], [1, "a"])
    accepted: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    lean = LeanScripts(f"redis://127.0.0.1:{port}/0", timeout=0.2)
    try:
        for _ in range(2):
            with pytest.raises(OSError):
                await lean.run(LUA, ["k"], [1, "a"])
        assert len(accepted) == 2  # the silent connection was dropped, and a new one made
    finally:
        await lean.close()
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()

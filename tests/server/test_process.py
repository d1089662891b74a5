"""`olga serve` as a real process: killed under load it loses no finished response; SIGTERM drains."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from olga_cli.store.db import open_store
from tests.fakes.gateway import mint_key, point_openai_at
from tests.fakes.openai_upstream import FakeOpenAI, Script


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_serve(home: Path) -> tuple[asyncio.subprocess.Process, int]:
    """`olga serve` on a free port; another port if the chosen one was taken in the meantime."""
    for _ in range(3):
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "olga_cli",
            "--home",
            str(home),
            "serve",
            "--port",
            str(port),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        async with aiohttp.ClientSession() as session:
            for _ in range(200):  # up to 10 s for the process to listen
                if process.returncode is not None:
                    break  # it could not listen: try another port
                try:
                    async with session.get(f"http://127.0.0.1:{port}/health") as reply:
                        if reply.status == 200:
                            return process, port
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)
        if process.returncode is None:
            process.kill()
            await process.wait()
    raise AssertionError("olga serve did not start")


async def test_sigkill_under_load_keeps_every_finished_response(home: Path, fake_openai: FakeOpenAI) -> None:
    point_openai_at(home, fake_openai.url)
    _row, key = await mint_key(home, name="load", credits_usd="10")
    process, port = await start_serve(home)
    finished: list[str] = []
    stop = asyncio.Event()

    async def client(session: aiohttp.ClientSession, index: int) -> None:
        payload = {
            "model": "openai/gpt-4o-mini",
            "max_tokens": 20,
            "stream": index % 2 == 0,
            "messages": [{"role": "user", "content": "hello"}],
        }
        while not stop.is_set():
            try:
                async with session.post(
                    f"http://127.0.0.1:{port}/v1/chat/completions",
                    json=payload,
                    headers={"Authorization": f"Bearer {key}"},
                ) as reply:
                    body = await reply.read()
                    if reply.status == 200 and (not payload["stream"] or body.endswith(b"data: [DONE]\n\n")):
                        finished.append(reply.headers["x-olga-generation-id"])
            except (TimeoutError, aiohttp.ClientError):
                return

    async with aiohttp.ClientSession() as session:
        clients = [asyncio.create_task(client(session, i)) for i in range(8)]
        for _ in range(400):  # bounded: at most 20 s
            if len(finished) >= 60:
                break
            await asyncio.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        stop.set()
        await asyncio.wait_for(asyncio.gather(*clients, return_exceptions=True), 10)
    assert len(finished) >= 60
    db = await open_store(home / "olga.db")
    try:
        placeholders = ",".join("?" * len(finished))
        async with db.conn.execute(
            f"SELECT COUNT(*) FROM generations WHERE id IN ({placeholders})", finished
        ) as cur:
            (stored,) = await cur.fetchone()
        async with db.conn.execute(
            f"SELECT COUNT(*), SUM(amount_pico) FROM ledger WHERE generation_id IN ({placeholders})", finished
        ) as cur:
            charged, amount = await cur.fetchone()
    finally:
        await db.close()
    assert stored == len(finished)
    assert charged == len(finished) and amount == len(finished) * 6_000_000


async def test_sigterm_lets_in_flight_requests_finish_and_flushes_them(
    home: Path, fake_openai: FakeOpenAI
) -> None:
    point_openai_at(home, fake_openai.url)
    _, key = await mint_key(home, name="drain")
    process, port = await start_serve(home)
    fake_openai.script(*[Script(delay=0.6) for _ in range(5)])
    async with aiohttp.ClientSession() as session:

        async def one() -> tuple[int, str]:
            async with session.post(
                f"http://127.0.0.1:{port}/v1/chat/completions",
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]},
                headers={"Authorization": f"Bearer {key}"},
            ) as reply:
                await reply.read()
                return reply.status, reply.headers["x-olga-generation-id"]

        in_flight = [asyncio.create_task(one()) for _ in range(5)]
        while len(fake_openai.requests) < 5:
            await asyncio.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        results = await asyncio.wait_for(asyncio.gather(*in_flight), 15)
    assert await asyncio.wait_for(process.wait(), 15) == 0
    assert [status for status, _ in results] == [200] * 5
    db = await open_store(home / "olga.db")
    try:
        ids = [gen for _, gen in results]
        async with db.conn.execute(
            f"SELECT COUNT(*) FROM generations WHERE id IN ({','.join('?' * 5)})", ids
        ) as cur:
            (stored,) = await cur.fetchone()
    finally:
        await db.close()
    assert stored == 5

"""Real `olga serve` processes for team mode: several instances on one PostgreSQL (and Redis)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.server.test_process import free_port


@dataclass
class Instance:
    process: asyncio.subprocess.Process
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.returncode is None:
            self.process.send_signal(sig)
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def start_instance(
    home: Path, database_url: str, *extra: str, redis_url: str | None = None
) -> Instance:
    """`olga serve --database-url URL` on a free port, once /health answers."""
    flags = ["--database-url", database_url]
    if redis_url is not None:
        flags += ["--redis-url", redis_url]
    for _ in range(3):
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "olga_cli",
            "--home",
            str(home),
            "serve",
            "--quiet",
            "--port",
            str(port),
            *flags,
            *extra,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        async with aiohttp.ClientSession() as session:
            for _ in range(300):  # up to 15 s for the process to listen
                if process.returncode is not None:
                    break
                try:
                    async with session.get(f"http://127.0.0.1:{port}/health") as reply:
                        if reply.status == 200:
                            return Instance(process, port)
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)
        if process.returncode is None:
            process.kill()
            await process.wait()
        else:
            assert process.stderr is not None
            error = (await process.stderr.read()).decode()
            if "address already in use" not in error.lower():
                raise AssertionError(f"olga serve exited: {error}")
    raise AssertionError("olga serve did not start")

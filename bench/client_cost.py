"""What one upstream request costs the client alone: aiohttp's ClientSession against olga's own
HTTP/1.1 client (``olga_cli/gateway/upstream/http1.py``).

nginx answers the bench's fixed chat completion on core 1; this script runs on core 0, sixteen
requests in flight on keep-alive connections, and counts its own CPU per request. No olga, no
server side: only the client's work to send a request and read its answer.

    python bench/client_cost.py              # three rounds of each, alternated
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import yarl

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import upstreams

from olga_cli.gateway.upstream import http1

BODY = b'{"model":"bench-model","messages":[{"role":"user","content":"hello there"}]}'
HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer x"}
IN_FLIGHT = 16


async def with_aiohttp(url: str, count: int) -> None:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    target = yarl.URL(url)

    async def one_connection() -> None:
        for _ in range(count // IN_FLIGHT):
            async with session.post(target, data=BODY, headers=HEADERS) as response:
                await response.read()

    await asyncio.gather(*(one_connection() for _ in range(IN_FLIGHT)))
    await session.close()


async def with_olga(url: str, count: int) -> None:
    client = http1.Client()
    target = yarl.URL(url)

    async def one_connection() -> None:
        for _ in range(count // IN_FLIGHT):
            response = await client.request("POST", target, HEADERS, BODY, connect_timeout=5)
            while await response.readany():
                pass

    await asyncio.gather(*(one_connection() for _ in range(IN_FLIGHT)))
    await client.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=8000, help="requests per round and client")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory(prefix="olga-client-cost-") as tmp:
        work, port = Path(tmp), 18_000 + os.getpid() % 1000
        (work / "nginx.conf").write_text(upstreams.nginx_conf(work, port))
        nginx = subprocess.Popen(
            [
                "taskset",
                "-c",
                "1",
                "nginx",
                "-p",
                str(work),
                "-e",
                str(work / "error.log"),
                "-c",
                "nginx.conf",
            ]
        )
        try:
            await asyncio.sleep(0.5)
            url = f"http://127.0.0.1:{port}/plain/v1/chat/completions"
            clients: list[tuple[str, Callable[[str, int], Awaitable[None]]]] = [
                ("aiohttp ClientSession", with_aiohttp),
                ("olga http1.Client", with_olga),
            ]
            await with_olga(url, 1600)  # warm: imports, first connections
            for _ in range(args.rounds):
                for name, run in clients:
                    cpu, wall = time.process_time(), time.perf_counter()
                    await run(url, args.requests)
                    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                    print(
                        f"{name:22} CPU per request {1e6 * cpu / args.requests:6.1f} µs"
                        f"   wall per request {1e6 * wall / args.requests:6.1f} µs",
                        flush=True,
                    )
        finally:
            nginx.terminate()
            nginx.wait(10)


if __name__ == "__main__":
    asyncio.run(main())

"""Two or more olga checkouts side by side in one run: the way to tell whether a change pays.

The machine's speed drifts by a fifth within an hour (bench/README.md), more than most changes
move a figure, so runs on different minutes do not compare. This starts this checkout's olga and
one more per ``--against`` checkout (a ``git worktree`` of the commit to compare with), each on a
home of its own with the same providers and prices, all on core 0, nginx and wrk on core 1, and alternates wrk runs between them, round after round.
Each line gives requests per second, wrk's p50 and p99, and CPU per request split by thread (the
event loop, the store's writer, the checkpointer...), read from ``/proc``.

    git worktree add /tmp/before HEAD~1
    python bench/ab.py --against /tmp/before --rounds 3
    python bench/ab.py --against /tmp/before --bare --c 1     # with the bare proxy, at concurrency 1
    python bench/ab.py --against /tmp/before --agent --c 1    # Claude Code's 150 KB turn instead

Nothing is saved: copy what matters into bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import agent
import overhead

CLK_TCK = os.sysconf("SC_CLK_TCK")


def thread_ticks(pid: int) -> dict[str, int]:
    """CPU clock ticks of each of a process's threads, by ``name:tid``."""
    ticks = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
        except OSError:
            continue  # the thread ended meanwhile
        fields = stat.rsplit(")", 1)[1].split()
        ticks[f"{name}:{tid}"] = int(fields[11]) + int(fields[12])
    return ticks


async def start_olga(bench: overhead.Bench, root: str, index: int) -> tuple[int, str, str]:
    """``olga serve`` from another checkout, on a home of its own (the same providers and prices; its
    store at its own schema) with a key it minted; its pid, where it answers and the key."""
    home = bench.workdir / f"home-against{index}"
    shutil.copytree(bench.workdir / "home", home, ignore=shutil.ignore_patterns("olga.db*"))
    env = {**os.environ, "OLGA_HOME": str(home), "PYTHONPATH": root}
    minted = subprocess.run(
        [
            sys.executable,
            "-m",
            "olga_cli",
            "keys",
            "create",
            "--name",
            "bench",
            "--credits",
            "100000",
            "--json",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    port = overhead.free_port()
    argv = [sys.executable, "-m", "olga_cli", "serve", "--port", str(port)]
    log = bench.workdir / f"against{index}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            overhead.pinned(overhead.OLGA_CORE, argv), cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    bench.procs.insert(0, (proc, signal.SIGINT))
    await overhead.wait_http(f"http://127.0.0.1:{port}/health", 30, proc, log)
    return proc.pid, f"http://127.0.0.1:{port}/v1/chat/completions", json.loads(minted.stdout)["key"]


async def run(args: argparse.Namespace) -> None:
    os.sched_setaffinity(0, {overhead.LOAD_CORE})
    settings = argparse.Namespace(
        no_bare=not args.bare,
        serve_args="",
        gap_ms=20,
        chunks=8,
        phases="spread",
        no_bodies=False,
        py_spy=None,
    )
    with tempfile.TemporaryDirectory(prefix="olga-ab-") as tmp:
        kind = agent.AgentBench if args.agent else overhead.Bench
        bench = kind(settings, Path(tmp), pin=True)
        try:
            await bench.start()
            route = "/v1/messages" if args.agent else "/v1/chat/completions"
            auth = f"Bearer {bench.key}"
            sides: list[tuple[str, str, str, int]] = [
                ("this", bench.url("olga", route), auth, bench.olga_pid)
            ]
            for index, root in enumerate(args.against):
                pid, url, key = await start_olga(bench, root, index + 1)
                sides.append(
                    (f"against{index + 1}", url.replace("/v1/chat/completions", route), f"Bearer {key}", pid)
                )
            if args.bare:
                sides.insert(0, ("bare", bench.url("bare", bare_path(args)), "", bench.bare_pid))
            body, env = request_of(args)
            for _, url, key, _ in sides:
                await bench.wrk.run(
                    url, body, connections=min(16, max(args.c)), seconds=2, auth=key, extra_env=env
                )
            for _ in range(args.rounds):
                for connections in args.c:
                    for name, url, key, pid in sides:
                        print(
                            await measured(bench, name, url, key, pid, body, connections, args.seconds, env)
                        )
        finally:
            bench.stop()


def bare_path(args: argparse.Namespace) -> str:
    if args.agent:
        return "/anthropic/v1/messages"
    return "/stream/v1/chat/completions" if args.stream else "/plain/v1/chat/completions"


def request_of(args: argparse.Namespace) -> tuple[bytes, dict[str, str]]:
    """The body every side is sent, and the headers wrk adds to it."""
    if args.agent:  # Claude Code's captured turn, to an Anthropic-format upstream
        return agent.sized_body(agent.AGENT_KB), {"BENCH_HEADERS": agent.ANTHROPIC_HEADERS}
    provider = "benchstream" if args.stream else "bench"
    return overhead.body_of(f"{provider}/{overhead.MODEL}", stream=args.stream), {}


async def measured(
    bench: overhead.Bench,
    name: str,
    url: str,
    auth: str,
    pid: int,
    body: bytes,
    connections: int,
    seconds: float,
    env: dict[str, str],
) -> str:
    before = thread_ticks(pid)
    result: dict[str, Any] = await bench.wrk.run(
        url, body, connections=connections, seconds=seconds, auth=auth, extra_env=env
    )
    after = thread_ticks(pid)
    count = max(result["requests"], 1)
    per_thread = {t: (after[t] - before.get(t, 0)) * 1000 / CLK_TCK / count for t in after}
    threads = ", ".join(
        f"{t}={ms:.3f}" for t, ms in sorted(per_thread.items(), key=lambda x: -x[1]) if ms > 0.005
    )
    return (
        f"c{connections:<2} {name:9} {result['requests'] / seconds:7.0f}/s  p50 {result['p50_us'] / 1000:6.3f}"
        f"  p99 {result['p99_us'] / 1000:6.3f} ms  CPU {sum(per_thread.values()):.3f} ms/request ({threads})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--against", nargs="*", default=[], metavar="CHECKOUT", help="other olga checkouts")
    parser.add_argument("--bare", action="store_true", help="the bare aiohttp proxy too")
    parser.add_argument("--stream", action="store_true", help="streamed answers (nginx's fixed SSE stream)")
    parser.add_argument("--agent", action="store_true", help="Claude Code's 150 KB turn to /v1/messages")
    parser.add_argument("--c", type=int, nargs="+", default=[16, 1], help="concurrencies, in turn")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=6)
    overhead.require("nginx", "apt-get install -y nginx")
    overhead.require("wrk", "apt-get install -y wrk")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

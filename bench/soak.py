"""A soak: minutes of mixed traffic through ``olga serve``, callers leaving at random points, with olga's
memory, open files, asyncio tasks and connections sampled over time.

    python bench/soak.py --minutes 5                     # the short run
    python bench/soak.py --minutes 60 --concurrency 128  # a long one

On 127.0.0.1: a fake provider speaking OpenAI's Chat API (this script, ``--provider PORT``: whole
answers, and streams of 20 text events 20 ms apart with usage), and ``olga serve`` on a temporary
home (a key with credits, the fake's model priced by a catalog overlay). ``--concurrency`` callers
then each send one request after another, chosen at random (seeded): a stream read to the end (30%),
a stream left after its first event (15%) or mid-way (15%), a request left before the headers
(10%), a whole answer (20%), and a Messages stream translated from the provider's Chat (10%).

Every ``--every`` seconds: olga's RSS and open files (``/proc``), its asyncio tasks and requests in
flight (``/metrics``), its sockets to callers and to the provider (the kernel's table), and requests
done so far. After the traffic stops and olga has gone quiet, one more sample, then the checks: a
record for every request, no charge above its reservation, the ledger equal to the key's spend.

Printed, and saved to ``bench/results/soak-<date>.json`` and ``soak-latest.json``. Read it for: RSS
flat after the first minute (``rss_slope_mb_per_min``), open files, tasks and sockets back to where
they were before the traffic. A run on a machine others are using says little about speed, and
nothing else here depends on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import overhead
from load import rss_mb
from overhead import ROOT, free_port, olga, spawn, stop, wait_http

MODEL = "soak-model"
PRICE = {
    "input_per_mtok": "0.15",
    "output_per_mtok": "0.60",
    "context_window": 128000,
    "max_output_tokens": 4096,
}
WORDS = 20
GAP = 0.02
KINDS = {  # what a caller does, and how often
    "stream": 30,
    "leave_after_first_event": 15,
    "leave_mid_stream": 15,
    "leave_before_headers": 10,
    "whole": 20,
    "messages_stream": 10,
}


# -- the fake provider ----------------------------------------------------------------------------


def run_provider(port: int) -> None:
    """OpenAI's Chat Completions, as it streams: role chunk, text chunks, finish, usage, [DONE]."""
    from aiohttp import web

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        usage = {"prompt_tokens": 20, "completion_tokens": WORDS, "total_tokens": 20 + WORDS}
        base = {"id": "chatcmpl-soak", "created": int(time.time()), "model": body["model"]}
        await asyncio.sleep(GAP)  # the provider thinks before its first byte
        if not body.get("stream"):
            message = {"role": "assistant", "content": " ".join(["word"] * WORDS)}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return web.json_response(
                {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            data = {**base, "object": "chat.completion.chunk", "choices": [choice]}
            return b"data: " + json.dumps(data).encode() + b"\n\n"

        try:
            await response.write(chunk({"role": "assistant", "content": ""}))
            for _ in range(WORDS):
                await asyncio.sleep(GAP)
                await response.write(chunk({"content": "word "}))
            await response.write(chunk({}, "stop"))
            if (body.get("stream_options") or {}).get("include_usage"):
                usage_chunk = {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}
                await response.write(b"data: " + json.dumps(usage_chunk).encode() + b"\n\n")
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # olga hung up: its caller left
        return response

    async def alive(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/", alive)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


# -- callers --------------------------------------------------------------------------------------


def body_of(kind: str) -> tuple[str, bytes]:
    """The path and body a caller of ``kind`` sends."""
    messages = [{"role": "user", "content": "Say twenty words."}]
    if kind == "messages_stream":
        body = {"model": f"soak/{MODEL}", "max_tokens": 64, "stream": True, "messages": messages}
        return "/v1/messages", json.dumps(body).encode()
    body = {"model": f"soak/{MODEL}", "max_tokens": 64, "messages": messages}
    if kind != "whole":
        body["stream"] = True
    return "/v1/chat/completions", json.dumps(body).encode()


async def one_request(port: int, key: str, kind: str, index: int, rng: random.Random) -> str:
    """One request on a fresh connection, left as ``kind`` says; how it went."""
    path, body = body_of(kind)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        f"anthropic-version: 2023-06-01\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Request-ID: soak-{index}\r\nConnection: close\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    received = b""
    try:
        writer.write(head.encode() + body)
        await writer.drain()
        if kind == "leave_before_headers":
            await asyncio.sleep(rng.uniform(0, GAP))
            return "left"
        events = {"leave_after_first_event": 1, "leave_mid_stream": rng.randint(2, WORDS - 2)}.get(kind)
        while chunk := await asyncio.wait_for(reader.read(65536), 60):
            received += chunk
            if events is not None and received.count(b"\n\n") >= events:  # the head ends in \r\n\r\n
                return "left"
        ok = received.startswith(b"HTTP/1.1 200")
        return "ok" if ok else f"status {received[9:12].decode(errors='replace')}"
    except (OSError, TimeoutError) as exc:
        return f"client error {type(exc).__name__}"
    finally:
        writer.close()


async def traffic(port: int, key: str, seconds: float, concurrency: int, done: Counter[str]) -> None:
    rng = random.Random(7)
    kinds = list(KINDS)
    weights = list(KINDS.values())
    end = time.monotonic() + seconds
    counter = iter(range(10**9))

    async def caller() -> None:
        while time.monotonic() < end:
            kind = rng.choices(kinds, weights)[0]
            done[f"{kind}: {await one_request(port, key, kind, next(counter), rng)}"] += 1

    await asyncio.gather(*(caller() for _ in range(concurrency)))


# -- measuring ------------------------------------------------------------------------------------


def sockets(port: int, *, remote: bool) -> int:
    """Sockets not yet closed on both sides whose local (``remote``: remote) port is ``port``."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                address = fields[2] if remote else fields[1]
                if int(address.rsplit(":", 1)[1], 16) == port and fields[3] not in ("06", "0A"):
                    count += 1
    return count


async def gauges(url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as reply:
        text = await reply.text()
    wanted = ("olga_event_loop_tasks", "olga_requests_in_flight")
    return {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if line.startswith(wanted)}


async def sample(
    pid: int, url: str, ports: dict[str, int], began: float, done: Counter[str]
) -> dict[str, Any]:
    to_callers, to_provider = sockets(ports["olga"], remote=False), sockets(ports["provider"], remote=True)
    metrics = await gauges(url)
    return {
        "t": round(time.monotonic() - began, 1),
        "rss_mb": round(rss_mb(pid), 1),
        "open_files": len(os.listdir(f"/proc/{pid}/fd")),
        "tasks": int(metrics.get("olga_event_loop_tasks", -1)),
        "in_flight": int(metrics.get("olga_requests_in_flight", -1)),
        "sockets_to_callers": to_callers,
        "sockets_to_provider": to_provider,
        "requests": sum(done.values()),
    }


def ledger_checks(home: Path, requests: int) -> dict[str, Any]:
    """Records and charges as the store has them (read-only, after the run)."""
    db = sqlite3.connect(f"file:{home / 'olga.db'}?mode=ro", uri=True)
    try:
        records = db.execute("SELECT COUNT(*) FROM generations WHERE request_id LIKE 'soak-%'").fetchone()[0]
        statuses = dict(db.execute("SELECT status, COUNT(*) FROM generations GROUP BY status").fetchall())
        charges = [row[0] for row in db.execute("SELECT amount_pico FROM ledger")]
    finally:
        db.close()
    from olga_cli.catalog import load_catalog
    from olga_cli.gateway.admission import metering

    entry = load_catalog(home).resolve(f"soak/{MODEL}")
    assert entry is not None
    worst = 0
    for kind in KINDS:
        _, raw = body_of(kind)
        body = json.loads(raw)
        bound = metering.input_token_bound(raw, body, entry.context_window)
        output = metering.requested_max_output(body, entry)
        worst = max(worst, entry.worst_case_pico(bound, output, rate_multiplier=Decimal(1)))
    return {
        "requests_sent": requests,
        "records": records,
        "every_request_recorded": records == requests,
        "records_by_status": {str(k): v for k, v in sorted(statuses.items())},
        "charges": len(charges),
        "largest_charge_pico": max(charges, default=0),
        "reservation_pico": worst,
        "no_charge_above_reservation": max(charges, default=0) <= worst,
    }


def rss_slope(samples: list[dict[str, Any]]) -> float | None:
    """MB per minute, by least squares over the samples after the first minute (warm-up excluded)."""
    points = [(s["t"] / 60, s["rss_mb"]) for s in samples if s["t"] >= 60]
    if len(points) < 3:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    var = sum((x - mx) ** 2 for x, _ in points)
    return round(sum((x - mx) * (y - my) for x, y in points) / var, 3) if var else None


# -- the run --------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    ports = {"olga": free_port(), "provider": free_port()}
    provider = spawn(
        [sys.executable, __file__, "--provider", str(ports["provider"])], workdir / "provider.out"
    )
    server = None
    try:
        await wait_http(f"http://127.0.0.1:{ports['provider']}/", 20, provider, workdir / "provider.out")
        home = workdir / "home"
        home.mkdir()
        base = f"http://127.0.0.1:{ports['provider']}/v1"
        olga(
            home,
            "providers",
            "add",
            "soak",
            "--kind",
            "openai-compatible",
            "--base-url",
            base,
            "--api-key",
            "sk-soak",
        )
        overlay = {"models": {f"soak/{MODEL}": {"provider": "soak", "upstream": MODEL, **PRICE}}}
        (home / "model_catalog.json").write_text(json.dumps(overlay))
        key = json.loads(olga(home, "keys", "create", "--name", "soak", "--credits", "100000", "--json"))[
            "key"
        ]
        server = spawn(
            [sys.executable, "-m", "olga_cli", "serve", "--port", str(ports["olga"])],
            workdir / "olga.out",
            env={**os.environ, "OLGA_HOME": str(home)},
            cwd=ROOT,
        )
        url = f"http://127.0.0.1:{ports['olga']}"
        await wait_http(url + "/health", 30, server, workdir / "olga.out")
        began = time.monotonic()
        done: Counter[str] = Counter()
        samples = [await sample(server.pid, url, ports, began, done)]
        print(f"olga pid {server.pid}: {args.minutes:g} min at concurrency {args.concurrency}", flush=True)
        load = asyncio.create_task(traffic(ports["olga"], key, args.minutes * 60, args.concurrency, done))
        while not load.done():
            await asyncio.wait([load], timeout=args.every)
            samples.append(await sample(server.pid, url, ports, began, done))
            print(json.dumps(samples[-1]), flush=True)
        await load
        # The last records commit and the last sockets close; olga keeps idle connections to the
        # provider for reuse up to 15 s, so one still open after 30 s is one it never closed.
        quiet_by = time.monotonic() + 30
        while time.monotonic() < quiet_by:
            last = await sample(server.pid, url, ports, began, done)
            if (
                last["in_flight"] == 0
                and last["sockets_to_callers"] <= 0
                and last["sockets_to_provider"] == 0
            ):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # the record writer's last batch
        after = await sample(server.pid, url, ports, began, done)
        before = samples[0]
        warm = next((s for s in samples if s["t"] >= 60), samples[-1])
        return {
            "minutes": args.minutes,
            "concurrency": args.concurrency,
            "mix": KINDS,
            "outcomes": dict(sorted(done.items())),
            "samples": samples,
            "before": before,
            "after": after,
            "rss_growth_mb_after_first_minute": round(after["rss_mb"] - warm["rss_mb"], 1),
            "rss_slope_mb_per_min": rss_slope(samples),
            "open_files_back": after["open_files"] - before["open_files"],
            "tasks_back": after["tasks"] - before["tasks"],
            "sockets_left": {
                "callers": after["sockets_to_callers"],
                "provider": after["sockets_to_provider"],
            },
            "store": ledger_checks(home, sum(done.values())),
            "loadavg": os.getloadavg(),
            "git": overhead._git(),
        }
    finally:
        stop(server, signal.SIGINT)
        stop(provider, signal.SIGINT)


def report(r: dict[str, Any]) -> str:
    store = r["store"]
    before, after = r["before"], r["after"]
    lines = [
        f"{store['requests_sent']} requests in {r['minutes']:g} min at concurrency {r['concurrency']}",
        f"  outcomes: {r['outcomes']}",
        (
            f"  RSS: {before['rss_mb']} MB before, {after['rss_mb']} MB after; "
            f"{r['rss_growth_mb_after_first_minute']:+} MB after the first minute, "
            f"slope {r['rss_slope_mb_per_min']} MB/min"
        ),
        (
            f"  open files {r['open_files_back']:+}, tasks {r['tasks_back']:+} against before; "
            f"sockets left: {r['sockets_left']}"
        ),
        (
            f"  records: {store['records']} of {store['requests_sent']} ({store['records_by_status']}); "
            f"largest charge {store['largest_charge_pico']} pico, reservation {store['reservation_pico']}"
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the traffic runs")
    parser.add_argument("--concurrency", type=int, default=64, help="callers at once")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--no-save", action="store_true", help="print only")
    parser.add_argument("--provider", type=int, help=argparse.SUPPRESS)  # run as the fake provider
    args = parser.parse_args()
    if args.provider:
        run_provider(args.provider)
        return
    with tempfile.TemporaryDirectory(prefix="olga-soak-") as workdir:
        results = asyncio.run(run(args, Path(workdir)))
    print()
    print(report(results))
    if not args.no_save:
        path = overhead.save(results, "soak")
        print(f"\nsaved {path.relative_to(ROOT)} and bench/results/soak-latest.json")


if __name__ == "__main__":
    main()

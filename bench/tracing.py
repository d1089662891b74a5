"""What OpenTelemetry tracing costs olga per request: the same load with tracing off and on.

Same processes and pinning as ``overhead.py``. A local OTLP/HTTP receiver (in this script, on the load
core) takes the spans and counts them, so the run proves they were sent. olga is started
``--rounds`` times each way, alternating off and on so that drift on a shared machine falls on both
sides; each round measures CPU per request at concurrency 16 and latency at concurrency 1 (wrk).
The figure is the difference in CPU per request (the issue's goal: at most 0.05 ms).

    python bench/tracing.py                # about two minutes
    python bench/tracing.py --rounds 3 --seconds 8

Needs nothing beyond olga (spans go over OTLP/HTTP). Results are printed and saved to ``bench/results/tracing-<date>.json`` and ``tracing-latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

import load
import overhead
from aiohttp import web
from load import Phase

TARGET_MS = 0.05


class Receiver:
    """The least an OTLP/HTTP collector does: take each export, count it, answer 200."""

    def __init__(self) -> None:
        self.exports = 0
        self.bytes = 0
        self.runner: web.AppRunner | None = None
        self.port = overhead.free_port()

    async def _traces(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.exports += 1
        self.bytes += len(body)
        return web.Response(body=b"", content_type="application/x-protobuf")

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/traces", self._traces)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def one_round(args: argparse.Namespace, pin: bool, receiver: Receiver, traced: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="olga-tracing-bench-") as tmp:
        bench = overhead.Bench(args, Path(tmp), pin)
        if traced:
            bench.serve_env = {
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.port}",
                "OTEL_SERVICE_NAME": "olga-bench",
            }
        exports_before = receiver.exports
        try:
            await bench.start()
            url, auth = bench.url("olga", "/v1/chat/completions"), f"Bearer {bench.key}"
            body = overhead.body_of(f"bench/{overhead.MODEL}", stream=False)
            await bench.wrk.run(url, body, connections=16, seconds=args.warmup, auth=auth)
            out: dict[str, Any] = {"traced": traced}
            for connections in (16, 1):
                phase = Phase(bench.olga_pid, bench.olga_core)
                with phase.measure():
                    result = await bench.wrk.run(
                        url, body, connections=connections, seconds=args.seconds, auth=auth
                    )
                if result["errors"]:
                    raise SystemExit(f"{result['errors']} errors through olga")
                out[f"c{connections}"] = {
                    "rps": result["rps"],
                    "p50_us": result["p50_us"],
                    "p99_us": result["p99_us"],
                    "cpu_ms": phase.per_request(result["requests"])["cpu_ms"],
                    "foreign_share_of_core": phase.foreign_share,
                    "requests": result["requests"],
                }
            await asyncio.sleep(6)  # the exporter's batch interval is 5 s: let the last spans go out
        finally:
            bench.stop()
        out["exports"] = receiver.exports - exports_before
        return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    pin = len(os.sched_getaffinity(0)) >= 2 and not args.no_pin
    if pin:
        os.sched_setaffinity(0, {overhead.LOAD_CORE})
    receiver = Receiver()
    await receiver.start()
    rounds = []
    try:
        for index in range(args.rounds * 2):
            traced = index % 2 == 1
            print(f"round {index // 2 + 1}, tracing {'on' if traced else 'off'}...", flush=True)
            rounds.append(await one_round(args, pin, receiver, traced))
    finally:
        await receiver.stop()
    off = [r for r in rounds if not r["traced"]]
    on = [r for r in rounds if r["traced"]]
    if any(r["exports"] == 0 for r in on) or any(r["exports"] for r in off):
        raise SystemExit(f"spans went where they should not: {[(r['traced'], r['exports']) for r in rounds]}")

    def mean(side: list[dict[str, Any]], phase: str, figure: str) -> float:
        return statistics.fmean(r[phase][figure] for r in side)

    cost = mean(on, "c16", "cpu_ms") - mean(off, "c16", "cpu_ms")
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpu": overhead._cpu_model(), "pinned": pin, "loadavg_end": load.loadavg()},
        "git": overhead._git(),
        "settings": {k: v for k, v in vars(args).items() if k != "no_save"},
        "rounds": rounds,
        "cpu_ms_c16": {"off": mean(off, "c16", "cpu_ms"), "on": mean(on, "c16", "cpu_ms")},
        "cpu_ms_c1": {"off": mean(off, "c1", "cpu_ms"), "on": mean(on, "c1", "cpu_ms")},
        "p50_us_c1": {"off": mean(off, "c1", "p50_us"), "on": mean(on, "c1", "p50_us")},
        "tracing_cost_ms": cost,
        "target_ms": TARGET_MS,
        "met": cost <= TARGET_MS,
        "span_exports": receiver.exports,
        "span_bytes": receiver.bytes,
    }


def report(r: dict[str, Any]) -> str:
    lines = [f"olga tracing cost  {r['date']}  load {r['machine']['loadavg_end']}", ""]
    for row in r["rounds"]:
        lines.append(
            f"  tracing {'on ' if row['traced'] else 'off'}  c16 {row['c16']['rps']:7.0f}/s {row['c16']['cpu_ms']:.3f} ms CPU"
            f"  c1 p50 {row['c1']['p50_us'] / 1000:.3f} ms {row['c1']['cpu_ms']:.3f} ms CPU  exports {row['exports']}"
        )
    lines += [
        "",
        f"CPU per request at c16: off {r['cpu_ms_c16']['off']:.3f} ms, on {r['cpu_ms_c16']['on']:.3f} ms",
        f"tracing costs {r['tracing_cost_ms'] * 1000:+.1f} µs per request (goal <= {TARGET_MS * 1000:.0f} µs): "
        + ("met" if r["met"] else "NOT met"),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="olga started this many times each way")
    parser.add_argument("--seconds", type=float, default=6, help="length of each measured run")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up run before measuring")
    parser.add_argument("--serve-args", default="", help="more arguments for olga serve")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    parser.add_argument("--no-save", action="store_true", help="print only; do not write bench/results/")
    args = parser.parse_args()
    args.no_bare, args.gap_ms, args.chunks = True, 20, 8
    for tool in ("nginx", "wrk", "taskset"):
        overhead.require(tool, f"apt-get update && apt-get install -y {tool}")
    results = asyncio.run(run(args))
    print()
    print(report(results))
    if not args.no_save:
        path = overhead.save(results, "tracing")
        print(f"\nsaved {path.relative_to(overhead.ROOT)} and bench/results/tracing-latest.json")


if __name__ == "__main__":
    main()

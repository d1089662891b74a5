"""How much olga adds on top of an upstream that is never the bottleneck.

Starts nginx serving a fixed chat completion and a fixed SSE stream, a paced SSE server (events a
fixed interval apart, to see whether olga delays chunks), a bare aiohttp proxy (the least a proxy on
olga's stack can cost) and ``olga serve`` on a temporary home with a minted key and providers pointing
at the upstreams (models priced by a catalog overlay, so metering, the ledger and the records all run
for real). Then, directly, through the bare proxy and through olga, in the same run:

- latency p50/p99 at concurrency 1 (wrk, one connection);
- throughput at concurrency 16 (wrk, 16 connections);
- streaming time to first byte and total (aiohttp client, one request at a time);
- added delay between the chunks of a paced stream;
- CPU time per request (``/proc/PID/stat`` utime+stime, all threads) and olga's resident memory,
  idle and over a soak run (``--soak SECONDS``; the issue's target is 600 s).

olga and the bare proxy run pinned to core 0; nginx, the paced server, wrk and this script (the
streaming client) to core 1, so figures compare across runs. All traffic goes to 127.0.0.1 and every
phase is bounded in time.

    python bench/overhead.py                       # about a minute and a half
    python bench/overhead.py --soak 600            # with the full ten-minute memory soak
    python bench/overhead.py --py-spy prof.svg     # profile olga during the throughput run

Needs nginx and wrk (``apt-get update && apt-get install -y nginx wrk``). Results are printed and saved
to ``bench/results/overhead-<date>.json`` and ``bench/results/overhead-latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import load
import upstreams
from load import Phase, Wrk, pct, pinned, rss_mb, summary_ms

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
OLGA_CORE, LOAD_CORE = 0, 1
MODEL = upstreams.MODEL
PROMPT = {"role": "user", "content": "Say hello in five words."}

# The targets for olga on one core.
TARGETS = {
    # Issue 14's goals, against the bare aiohttp proxy measured in the same run (the floor of the stack).
    "added_p50_over_bare_ms": 0.2,  # concurrency 1: olga's added p50 at most the bare proxy's + 0.2 ms
    "added_latency_p99_ms": 2.0,  # concurrency 1
    "throughput_share_of_bare": 0.5,  # concurrency 16: at least half the bare proxy's requests/s
    "cpu_per_request_ms": 0.3,  # concurrency 16
    # The first round's, kept.
    "added_ttfb_ms": 0.5,
    "added_chunk_gap_ms": 0.0,
    "idle_rss_mb": 80.0,
    "soak_rss_growth_pct": 10.0,
}
GAP_TOLERANCE_MS = 0.1  # "no added delay between chunks", within timer noise


# -- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(argv: list[str], log: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, stdout=log.open("wb"), stderr=subprocess.STDOUT, **kwargs)


async def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"{proc.args!r} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                async with session.get(url) as response:
                    await response.read()
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise SystemExit(f"{url} did not answer within {timeout:g}s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 40.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def olga(home: Path, *args: str) -> str:
    env = {**os.environ, "OLGA_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "olga_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"olga {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def set_up_home(home: Path, nginx_port: int, paced_port: int) -> str:
    """Providers pointing at the bench upstreams, priced models, and a key with credits; returns the key."""
    base = f"http://127.0.0.1:{nginx_port}"
    for name, url in (
        ("bench", f"{base}/plain/v1"),
        ("benchstream", f"{base}/stream/v1"),
        ("benchpaced", f"http://127.0.0.1:{paced_port}/paced/v1"),
    ):
        olga(
            home,
            "providers",
            "add",
            name,
            "--kind",
            "openai-compatible",
            "--base-url",
            url,
            "--api-key",
            "sk-bench-upstream",
            "--json",
        )
    price = {
        "input_per_mtok": "0.15",
        "output_per_mtok": "0.60",
        "cached_input_per_mtok": "0.075",
        "context_window": 128000,
        "max_output_tokens": 16384,
        "endpoints": ["chat"],
    }
    overlay = {
        "models": {
            f"{p}/{MODEL}": {"provider": p, "upstream": MODEL, **price}
            for p in ("bench", "benchstream", "benchpaced")
        }
    }
    (home / "model_catalog.json").write_text(json.dumps(overlay, indent=1))
    created = json.loads(olga(home, "keys", "create", "--name", "bench", "--credits", "100000", "--json"))
    return str(created["key"])


def body_of(model: str, *, stream: bool) -> bytes:
    body: dict[str, Any] = {"model": model, "messages": [PROMPT], "max_tokens": 64}
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


# -- the run -------------------------------------------------------------------------------------


class Bench:
    """The processes of one run and their addresses."""

    paced_modes: tuple[str, ...] = ()  # more arguments for ``upstreams.py paced`` ("spread")

    def __init__(self, args: argparse.Namespace, workdir: Path, pin: bool) -> None:
        self.args = args
        self.workdir = workdir
        self.olga_core: int | None = OLGA_CORE if pin else None
        self.load_core: int | None = LOAD_CORE if pin else None
        self.wrk = Wrk(workdir, self.load_core)
        self.procs: list[tuple[subprocess.Popen[bytes], int]] = []
        self.ports = {name: free_port() for name in ("nginx", "paced", "bare", "olga")}
        self.key = ""
        self.olga_pid = self.bare_pid = 0
        self.serve_env: dict[str, str] = {}  # more environment for olga serve (tracing.py sets OTEL_*)

    def url(self, name: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    def _start(
        self, argv: list[str], log: str, core: int | None, sig: int, **kwargs: Any
    ) -> subprocess.Popen[bytes]:
        proc = spawn(pinned(core, argv), self.workdir / log, **kwargs)
        self.procs.append((proc, sig))
        return proc

    async def start(self) -> None:
        w = self.workdir
        (w / "nginx.conf").write_text(upstreams.nginx_conf(w, self.ports["nginx"]))
        nginx = self._start(
            ["nginx", "-p", str(w), "-e", str(w / "nginx-error.log"), "-c", str(w / "nginx.conf")],
            "nginx.out",
            self.load_core,
            signal.SIGQUIT,
        )
        script = str(BENCH / "upstreams.py")
        paced = self._start(
            [
                sys.executable,
                script,
                "paced",
                str(self.ports["paced"]),
                str(self.args.gap_ms),
                str(self.args.chunks),
                *self.paced_modes,
            ],
            "paced.out",
            self.load_core,
            signal.SIGINT,
        )
        home = w / "home"
        home.mkdir()
        self.key = self.set_up(home)
        serve = ["serve", "--port", str(self.ports["olga"]), *self.args.serve_args.split()]
        server = self._start(
            [sys.executable, "-m", "olga_cli", *serve],
            "olga.out",
            self.olga_core,
            signal.SIGINT,
            env={**os.environ, **self.serve_env, "OLGA_HOME": str(home)},
            cwd=ROOT,
        )
        self.olga_pid = server.pid
        if not self.args.no_bare:
            bare = self._start(
                [sys.executable, script, "bare", str(self.ports["bare"]), self.url("nginx", "")],
                "bare.out",
                self.olga_core,
                signal.SIGINT,
            )
            self.bare_pid = bare.pid
            await wait_http(self.url("bare", "/"), 20, bare, w / "bare.out")
        await wait_http(self.url("olga", "/health"), 30, server, w / "olga.out")
        await wait_http(self.url("nginx", "/"), 10, nginx, w / "nginx-error.log")
        await wait_http(self.url("paced", "/"), 10, paced, w / "paced.out")

    def set_up(self, home: Path) -> str:
        """The olga home the run serves from; returns the key to send. Other benches add to it."""
        return set_up_home(home, self.ports["nginx"], self.ports["paced"])

    def stop(self) -> None:
        for proc, sig in reversed(self.procs):
            stop(proc, sig)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    cores = len(os.sched_getaffinity(0))
    pin = cores >= 2 and not args.no_pin
    if pin:
        os.sched_setaffinity(0, {LOAD_CORE})  # this script is the streaming client
    else:
        print("warning: not pinning (fewer than 2 cores or --no-pin); figures will not compare across runs")
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "pinned": pin,
            "python": platform.python_version(),
            "aiohttp": aiohttp.__version__,
            "loadavg_start": load.loadavg(),
        },
        "git": _git(),
        "settings": {k: v for k, v in vars(args).items() if k != "no_save"},
        "profiled": bool(args.py_spy),
        "probes": probes(),
        "targets": TARGETS,
    }
    with tempfile.TemporaryDirectory(prefix="olga-bench-") as tmp:
        bench = Bench(args, Path(tmp), pin)
        try:
            await bench.start()
            await asyncio.sleep(1.0)
            results["memory"] = {"idle_rss_mb": rss_mb(bench.olga_pid)}
            await measure(bench, results)
            results["key"] = await key_view(bench.url("olga", "/v1/key"), bench.key)
        finally:
            bench.stop()
    results["machine"]["loadavg_end"] = load.loadavg()
    results["verdict"] = verdict(results)
    return results


async def measure(bench: Bench, results: dict[str, Any]) -> None:
    args, wrk, auth = bench.args, bench.wrk, f"Bearer {bench.key}"
    plain_body = body_of(f"bench/{MODEL}", stream=False)
    stream_body = body_of(f"benchstream/{MODEL}", stream=True)
    plain = {
        "direct": bench.url("nginx", "/plain/v1/chat/completions"),
        "bare": bench.url("bare", "/plain/v1/chat/completions"),
        "olga": bench.url("olga", "/v1/chat/completions"),
    }
    stream = {
        "direct": bench.url("nginx", "/stream/v1/chat/completions"),
        "bare": bench.url("bare", "/stream/v1/chat/completions"),
        "olga": plain["olga"],
    }
    sides = ["direct", "olga"] if args.no_bare else ["direct", "bare", "olga"]
    pids = {"bare": bench.bare_pid, "olga": bench.olga_pid}
    auths = {"olga": auth}
    seconds = args.seconds

    print(f"warming up ({args.warmup:g}s each)...", flush=True)
    for side in sides:
        await wrk.run(plain[side], plain_body, connections=16, seconds=args.warmup, auth=auths.get(side, ""))
    results["memory"]["warm_rss_mb"] = rss_mb(bench.olga_pid)

    async def wrk_phase(connections: int, spy: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for side in sides:
            phase = Phase(pids.get(side, 0), bench.olga_core)
            profiler = (
                await start_py_spy(spy, bench.olga_pid, bench.load_core, seconds)
                if spy and side == "olga"
                else None
            )
            if side == "direct":
                out[side] = await wrk.run(plain[side], plain_body, connections=connections, seconds=seconds)
                continue
            with phase.measure():
                out[side] = await wrk.run(
                    plain[side],
                    plain_body,
                    connections=connections,
                    seconds=seconds,
                    auth=auths.get(side, ""),
                )
            if profiler is not None:
                await asyncio.wait_for(profiler.wait(), timeout=60)
            out[side]["process"] = phase.per_request(out[side]["requests"])
            out[side]["foreign_share_of_core"] = phase.foreign_share
        for side in sides[1:]:
            out[f"{side}_added_p50_ms"] = (out[side]["p50_us"] - out["direct"]["p50_us"]) / 1000
            out[f"{side}_added_p99_ms"] = (out[side]["p99_us"] - out["direct"]["p99_us"]) / 1000
        return out

    print(f"latency at concurrency 1 ({seconds:g}s each)...", flush=True)
    results["latency_c1"] = await wrk_phase(1)
    print(f"throughput at concurrency 16 ({seconds:g}s each)...", flush=True)
    results["throughput_c16"] = await wrk_phase(16, args.py_spy)

    print(f"streams, one at a time ({args.streams} each)...", flush=True)
    headers = {"Content-Type": "application/json"}
    out: dict[str, Any] = {}
    for side in sides:
        phase = Phase(pids.get(side, 0), bench.olga_core)
        side_headers = {**headers, "Authorization": auth} if side == "olga" else headers
        if side == "direct":
            out[side] = await load.streams(stream[side], stream_body, side_headers, args.streams)
            continue
        with phase.measure():
            out[side] = await load.streams(stream[side], stream_body, side_headers, args.streams)
        out[side]["process"] = phase.per_request(args.streams)
    for side in sides[1:]:
        out[f"{side}_added_ttfb_p50_ms"] = out[side]["ttfb"]["p50_ms"] - out["direct"]["ttfb"]["p50_ms"]
        out[f"{side}_added_ttfb_p99_ms"] = out[side]["ttfb"]["p99_ms"] - out["direct"]["ttfb"]["p99_ms"]
        out[f"{side}_added_total_p50_ms"] = out[side]["total"]["p50_ms"] - out["direct"]["total"]["p50_ms"]
    results["stream"] = out

    print(f"paced streams ({args.paced} each, {args.chunks} chunks {args.gap_ms:g} ms apart)...", flush=True)
    words = [upstreams.paced_word(i) for i in range(args.chunks)]
    paced_body = body_of(f"benchpaced/{MODEL}", stream=True)
    direct_runs = await load.paced(
        bench.url("paced", "/paced/v1/chat/completions"), paced_body, headers, args.paced, words
    )
    via_runs = await load.paced(
        plain["olga"], paced_body, {**headers, "Authorization": auth}, args.paced, words
    )
    direct_gaps, via_gaps = load.gaps(direct_runs), load.gaps(via_runs)
    results["paced_stream"] = {
        "gap_ms": args.gap_ms,
        "chunks": args.chunks,
        "direct_gap": summary_ms(direct_gaps),
        "olga_gap": summary_ms(via_gaps),
        "added_gap_mean_ms": statistics.fmean(via_gaps) - statistics.fmean(direct_gaps),
        "added_gap_p99_ms": pct(via_gaps, 99) - pct(direct_gaps, 99),
        "added_first_word_p50_ms": pct([r[0] for r in via_runs], 50) - pct([r[0] for r in direct_runs], 50),
    }

    print(f"memory soak through olga at concurrency 16 ({args.soak:g}s)...", flush=True)
    results["memory"].update(await soak(bench, plain["olga"], plain_body, auth))


async def soak(bench: Bench, url: str, body: bytes, auth: str) -> dict[str, Any]:
    """Resident memory sampled while olga serves a steady load; flat means no growth past the start."""
    args, pid = bench.args, bench.olga_pid
    samples: list[tuple[float, float]] = []
    start_rss = rss_mb(pid)
    started = time.perf_counter()
    task = asyncio.create_task(bench.wrk.run(url, body, connections=16, seconds=args.soak, auth=auth))
    while not task.done():
        await asyncio.wait({task}, timeout=args.sample_every)
        samples.append((round(time.perf_counter() - started, 1), round(rss_mb(pid), 2)))
    result = task.result()
    return {
        "soak_seconds": args.soak,
        "soak_requests": result["requests"],
        "soak_rps": result["rps"],
        "soak_errors": result["errors"],
        **soak_figures(start_rss, samples),
    }


def soak_figures(start_rss: float, samples: list[tuple[float, float]]) -> dict[str, Any]:
    """Growth over the whole soak, and after its first tenth (caches and buffers filling up under the
    new load): a leak keeps growing after warm-up, a warm-up does not. The target is the latter."""
    values = [rss for _, rss in samples] or [start_rss]
    warm = values[max(len(values) // 10 - 1, 0)]
    after_warmup = values[len(values) // 10 :] or values
    return {
        "soak_start_rss_mb": start_rss,
        "soak_warm_rss_mb": warm,
        "soak_end_rss_mb": values[-1],
        "soak_max_rss_mb": max(values),
        "soak_growth_from_start_pct": (max(values) - start_rss) / start_rss * 100,
        "soak_growth_pct": (max(after_warmup) - warm) / warm * 100,
        "soak_samples": samples,
    }


async def start_py_spy(path: str, pid: int, core: int | None, seconds: float) -> asyncio.subprocess.Process:
    """Sample olga (from the load core) while it serves the throughput run; the run's figures suffer."""
    fmt = {"svg": "flamegraph", "json": "speedscope"}.get(path.rsplit(".", 1)[-1], "raw")
    # Non-blocking: blocking sampling over-weights functions that make system calls.
    argv = [
        "py-spy",
        "record",
        "--pid",
        str(pid),
        "--nonblocking",
        "--rate",
        "500",
        "--format",
        fmt,
        "--duration",
        str(max(int(seconds) - 1, 1)),
        "-o",
        path,
    ]
    return await asyncio.create_subprocess_exec(*pinned(core, argv), stdout=asyncio.subprocess.DEVNULL)


async def key_view(url: str, key: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        data: dict[str, Any] = (await response.json())["data"]
    return {k: data.get(k) for k in ("credits", "balance", "reserved", "spent")}


# -- figures against targets ---------------------------------------------------------------------


def verdict(r: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each figure against its target; ``ratio`` is figure / target (<= 1 meets it, except throughput)."""
    figures = {
        "added_latency_p99_ms": r["latency_c1"]["olga_added_p99_ms"],
        "cpu_per_request_ms": r["throughput_c16"]["olga"]["process"]["cpu_ms"],
        "added_ttfb_ms": r["stream"]["olga_added_ttfb_p50_ms"],
        "added_chunk_gap_ms": r["paced_stream"]["added_gap_mean_ms"],
        "idle_rss_mb": r["memory"]["idle_rss_mb"],
        "soak_rss_growth_pct": r["memory"]["soak_growth_pct"],
    }
    if "bare" in r["latency_c1"]:  # the relative goals need the bare proxy (not --no-bare)
        lat, thr = r["latency_c1"], r["throughput_c16"]
        figures["added_p50_over_bare_ms"] = lat["olga_added_p50_ms"] - lat["bare_added_p50_ms"]
        figures["throughput_share_of_bare"] = thr["olga"]["rps"] / thr["bare"]["rps"]
    out = {}
    for name, value in figures.items():
        target = TARGETS[name]
        ratio: float | None
        if name == "throughput_share_of_bare":
            met, ratio = value >= target, value / target
        elif name == "added_chunk_gap_ms":
            met, ratio = value <= GAP_TOLERANCE_MS, None
        else:
            met, ratio = value <= target, value / target
        out[name] = {
            "value": round(value, 4),
            "target": target,
            "ratio": None if ratio is None else round(ratio, 3),
            "met": met,
        }
    return out


def report(r: dict[str, Any]) -> str:
    lat, thr, st, pc, mem = r["latency_c1"], r["throughput_c16"], r["stream"], r["paced_stream"], r["memory"]
    bare = "bare" in lat
    sides = ["direct", "bare", "olga"] if bare else ["direct", "olga"]

    def row(label: str, values: list[float], fmt: str = "12.3f") -> str:
        return f"{label:26}" + "".join(format(v, fmt) for v in values)

    def cols(get: Any, added: Any = None) -> list[float]:
        values = [get(side) for side in sides]
        if added is not None:
            values += [added(side) for side in sides[1:]]
        return values

    head = f"{'':26}" + "".join(f"{s:>12}" for s in sides) + "".join(f"{'+' + s:>12}" for s in sides[1:])
    lines = [
        (
            f"olga overhead bench  {r['date']}  load {r['machine']['loadavg_start']} -> {r['machine']['loadavg_end']}"
            + ("  (profiled: figures perturbed)" if r["profiled"] else "")
            + "".join(f"  (probe {k}={v}: olga changed for this run)" for k, v in r.get("probes", {}).items())
        ),
        "",
        head,
        row(
            "latency c=1 p50 (ms)",
            cols(lambda s: lat[s]["p50_us"] / 1000, lambda s: lat[f"{s}_added_p50_ms"]),
        ),
        row(
            "latency c=1 p99 (ms)",
            cols(lambda s: lat[s]["p99_us"] / 1000, lambda s: lat[f"{s}_added_p99_ms"]),
        ),
        row("throughput c=16 (req/s)", cols(lambda s: thr[s]["rps"]), "12.0f"),
        row(
            "stream TTFB p50 (ms)",
            cols(lambda s: st[s]["ttfb"]["p50_ms"], lambda s: st[f"{s}_added_ttfb_p50_ms"]),
        ),
        row(
            "stream total p50 (ms)",
            cols(lambda s: st[s]["total"]["p50_ms"], lambda s: st[f"{s}_added_total_p50_ms"]),
        ),
        "",
        f"CPU per request (ms)      {'c=16':>10}{'c=1':>10}{'stream':>10}   (user+system, all threads)",
    ]
    for side in sides[1:]:
        lines.append(
            f"  {side:24}{thr[side]['process']['cpu_ms']:10.3f}{lat[side]['process']['cpu_ms']:10.3f}"
            f"{st[side]['process']['cpu_ms']:10.3f}"
        )
    lines += [
        (
            f"paced stream: gap {pc['direct_gap']['mean_ms']:.3f} ms direct, {pc['olga_gap']['mean_ms']:.3f} ms "
            f"through olga (added {pc['added_gap_mean_ms']:+.3f} ms mean, {pc['added_gap_p99_ms']:+.3f} ms p99)"
        ),
        (
            f"olga RSS: idle {mem['idle_rss_mb']:.1f} MB; soak {mem['soak_seconds']:g}s, {mem['soak_requests']} requests "
            f"at {mem['soak_rps']:.0f}/s: {mem['soak_start_rss_mb']:.1f} MB at the start "
            f"({mem['soak_growth_from_start_pct']:+.1f}% to the max), {mem['soak_warm_rss_mb']:.1f} MB after its first "
            f"tenth ({mem['soak_growth_pct']:+.1f}% to the max), {mem['soak_end_rss_mb']:.1f} MB at the end"
        ),
        (
            f"other load on olga's core: {_share(lat['olga']['foreign_share_of_core'])} (c=1), "
            f"{_share(thr['olga']['foreign_share_of_core'])} (c=16)"
        ),
        f"errors through olga: c=1 {lat['olga']['errors']}, c=16 {thr['olga']['errors']}, soak {mem['soak_errors']}",
        "",
        f"{'target':28}{'value':>12}{'target':>10}{'ratio':>8}  met",
    ]
    for name, v in r["verdict"].items():
        ratio = "" if v["ratio"] is None else f"{v['ratio']:.2f}"
        lines.append(f"{name:28}{v['value']:12.3f}{v['target']:10g}{ratio:>8}  {'yes' if v['met'] else 'NO'}")
    return "\n".join(lines)


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def _git() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty_files": len(git("status", "--porcelain").splitlines()),
    }


def save(results: dict[str, Any], name: str = "overhead") -> Path:
    """``bench/results/NAME-<date>.json``, and the same as ``NAME-latest.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{dt.datetime.now().strftime('%Y-%m-%d-%H%M%S')}.json"
    text = json.dumps(results, indent=1) + "\n"
    path.write_text(text)
    (RESULTS / f"{name}-latest.json").write_text(text)
    return path


def probes() -> dict[str, str]:
    """The bench probes on (``bench/commitcost``), so that a run olga was changed for says so."""
    return {name: value for name in ("COMMITCOST",) if (value := os.environ.get(name))}


def require(tool: str, install: str) -> None:
    if shutil.which(tool) is None:
        raise SystemExit(f"{tool} is not installed; install it with: {install}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5, help="length of each latency and throughput run")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up run before measuring")
    parser.add_argument("--streams", type=int, default=300, help="streamed requests, each side")
    parser.add_argument("--paced", type=int, default=20, help="paced streamed requests, each side")
    parser.add_argument("--gap-ms", type=float, default=20, help="gap between the paced stream's chunks")
    parser.add_argument("--chunks", type=int, default=8, help="content chunks in the paced stream")
    parser.add_argument(
        "--soak", type=float, default=15, help="memory soak length in seconds (600 for the target)"
    )
    parser.add_argument(
        "--sample-every", type=float, default=1.0, help="seconds between RSS samples in the soak"
    )
    parser.add_argument("--serve-args", default="", help="more arguments for olga serve, e.g. '--quiet'")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare aiohttp proxy")
    parser.add_argument(
        "--py-spy",
        metavar="FILE",
        help="profile olga with py-spy during the throughput run "
        "(.svg flamegraph, .json speedscope, else collapsed stacks)",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    parser.add_argument("--no-save", action="store_true", help="print only; do not write bench/results/")
    args = parser.parse_args()
    apt = "apt-get update && apt-get install -y"
    require("nginx", f"{apt} nginx")
    require("wrk", f"{apt} wrk")
    require("taskset", f"{apt} util-linux")
    if args.py_spy:
        require("py-spy", "pip install py-spy")
        args.py_spy = str(Path(args.py_spy).resolve())
    results = asyncio.run(run(args))
    print()
    print(report(results))
    if not args.no_save:
        # A run with a probe changing olga (bench/commitcost) is saved apart from the real ones.
        name = "-".join(["overhead", *(f"{k}-{v}".lower() for k, v in results["probes"].items())])
        print(f"\nsaved {save(results, name).relative_to(ROOT)} and bench/results/{name}-latest.json")


if __name__ == "__main__":
    main()

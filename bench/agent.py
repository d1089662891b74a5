"""What olga adds on the bodies agents really send, and with thousands of streams open at once.

Same processes and pinning as ``overhead.py`` (nginx upstream, bare aiohttp proxy, ``olga serve`` on a
temporary home), plus an Anthropic-format provider (``benchanthropic``, kind ``anthropic``) that nginx
answers with a fixed Messages reply. Three phases, all on 127.0.0.1 and bounded in time:

- **the agent body**: a Claude Code turn captured from the real client (``tests/fixtures/clients``:
  system blocks, 25 tools, thinking, a tool result), grown with more of its own history to ~150 KB,
  sent at concurrency 1 to ``/v1/messages`` (passthrough to the Anthropic-format upstream), through
  the bare proxy, through olga, and through olga with the input guardrails pii + secrets +
  prompt-injection on the key;
- **the cost per KB**: the same at 1 KB, 10 KB, 100 KB and 1 MB, shown as a curve (added latency and
  CPU per request against body size);
- **many streams**: ``--streams`` paced streams open at once (default 2,000, opened over ``--ramp`` 2 s,
  one chunk a second),
  directly, through the bare proxy (a second one, in front of the paced upstream, on olga's core:
  the floor of the stack) and twice through olga: olga's resident memory, open files and the added
  delay per chunk (p99 against the direct run), beside the bare proxy's.

    python bench/agent.py                  # about three minutes
    python bench/agent.py --seconds 3 --streams 500

Results are printed and saved to ``bench/results/agent-<date>.json`` and ``agent-latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import datetime as dt
import json
import math
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import load
import overhead
import upstreams
from load import Phase, pct, rss_mb, summary_ms

FIXTURE = overhead.ROOT / "tests" / "fixtures" / "clients" / "claude_code_sonnet_turn2.json"
AGENT_KB = 150
CURVE_KB = (1, 10, 100, 1000)
GUARDRAILS = ("pii", "secrets", "prompt-injection")
TARGETS = {
    "agent_added_p50_ms": 1.5,  # olga's added latency over the upstream, 150 KB, no guardrails
    "agent_guarded_added_p50_ms": 4.0,  # the same with pii + secrets + prompt-injection on input
    # A word's trip from the upstream's write to the client, through olga against direct.
    "streams_added_delay_p99_ms": 5.0,
    "streams_added_delay_all_open_p99_ms": 5.0,  # the words written while all streams were open
    "streams_rss_growth_pct": 10.0,  # second round's peak against the first's: flat
}
ANTHROPIC_HEADERS = "anthropic-version: 2023-06-01\n"


# -- bodies ---------------------------------------------------------------------------------------


def captured() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(FIXTURE.read_text())["body"]
    body["model"] = f"benchanthropic/{upstreams.MODEL}"
    body["stream"] = False
    return body


def history_texts(body: dict[str, Any]) -> list[str]:
    """Every text the conversation holds (prompts, tool results), to grow it with its own kind of text."""
    texts = []
    for message in body["messages"]:
        for block in message["content"] if isinstance(message["content"], list) else []:
            text = block.get("text") or block.get("content")
            if isinstance(text, str) and text.strip():
                texts.append(text)
    return texts or ["Read the file and tell me what the function does."]


def sized_body(kb: int) -> bytes:
    """A Messages request of about ``kb`` KB: the captured turn's system and tools when they fit, then
    earlier turns of its own text until the size is reached; always ending on the user's turn."""
    base = captured()
    target = kb * 1024
    texts = history_texts(base)
    if target < len(json.dumps(base)):
        skeleton = {
            k: v for k, v in base.items() if k not in ("system", "tools", "thinking", "context_management")
        }
        tail: list[dict[str, Any]] = [{"role": "user", "content": "Go on."}]
    else:
        skeleton, tail = copy.deepcopy(base), base["messages"]
    turns: list[dict[str, Any]] = []
    while (room := target - len(json.dumps({**skeleton, "messages": turns + tail}))) > 64:
        role = "user" if len(turns) % 2 == 0 else "assistant"
        text = texts[len(turns) % len(texts)][: max(room - 48, 16)]
        turns.append({"role": role, "content": [{"type": "text", "text": text}]})
    if turns and turns[-1]["role"] == "user":
        turns.append({"role": "assistant", "content": [{"type": "text", "text": "Done."}]})
    return json.dumps(
        {**skeleton, "messages": turns + tail}, ensure_ascii=False
    ).encode()  # as agents send it


# -- the run --------------------------------------------------------------------------------------


class AgentBench(overhead.Bench):
    """overhead.py's processes, plus an Anthropic-format provider, a key with input guardrails, and a
    second bare proxy in front of the paced upstream (the floor of the streams phase)."""

    guarded_key = ""
    bare_paced_pid = 0

    def __init__(self, args: argparse.Namespace, workdir: Path, pin: bool) -> None:
        super().__init__(args, workdir, pin)
        self.paced_modes = ("spread",) if args.phases == "spread" else ()

    async def start(self) -> None:
        await super().start()
        self.ports["bare_paced"] = overhead.free_port()
        log = "bare-paced.out"
        argv = [sys.executable, str(overhead.BENCH / "upstreams.py"), "bare", str(self.ports["bare_paced"])]
        proc = self._start([*argv, self.url("paced", "")], log, self.olga_core, signal.SIGINT)
        self.bare_paced_pid = proc.pid
        await overhead.wait_http(self.url("bare_paced", "/"), 20, proc, self.workdir / log)

    def set_up(self, home: Path) -> str:
        key = super().set_up(home)
        base = f"http://127.0.0.1:{self.ports['nginx']}/anthropic"
        overhead.olga(
            home,
            "providers",
            "add",
            "benchanthropic",
            "--kind",
            "anthropic",
            "--base-url",
            base,
            "--api-key",
            "sk-ant-bench",
        )
        catalog = home / "model_catalog.json"
        overlay = json.loads(catalog.read_text())
        overlay["models"][f"benchanthropic/{upstreams.MODEL}"] = {
            "provider": "benchanthropic",
            "upstream": upstreams.MODEL,
            "input_per_mtok": "3",
            "output_per_mtok": "15",
            "context_window": 1_000_000,
            "max_output_tokens": 64000,
            "endpoints": ["messages"],
        }
        catalog.write_text(json.dumps(overlay, indent=1))
        made = json.loads(
            overhead.olga(home, "keys", "create", "--name", "guarded", "--credits", "100000", "--json")
        )
        self.guarded_key = str(made["key"])
        for kind in GUARDRAILS:
            overhead.olga(
                home,
                "guardrails",
                "add",
                "--key",
                "guarded",
                "--type",
                kind,
                "--stage",
                "input",
                "--action",
                "log",
            )
        if self.args.no_bodies:
            config = home / "config.toml"
            text = config.read_text() if config.exists() else ""
            config.write_text(text.replace("[server]\n", "") + "\n[server]\nstore_bodies = false\n")
        return key


async def latency(bench: AgentBench, body: bytes, seconds: float) -> dict[str, Any]:
    """Concurrency 1 on one body: direct, bare proxy, olga, olga with guardrails."""
    sides = {
        "direct": (bench.url("nginx", "/anthropic/v1/messages"), "", 0),
        "bare": (bench.url("bare", "/anthropic/v1/messages"), "", bench.bare_pid),
        "olga": (bench.url("olga", "/v1/messages"), f"Bearer {bench.key}", bench.olga_pid),
        "guarded": (bench.url("olga", "/v1/messages"), f"Bearer {bench.guarded_key}", bench.olga_pid),
    }
    out: dict[str, Any] = {"body_kb": round(len(body) / 1024, 1)}
    headers = {"BENCH_HEADERS": ANTHROPIC_HEADERS}
    for side, (url, auth, pid) in sides.items():
        out[f"{side}_first_ms"] = await prime(url, body, auth)
        await bench.wrk.run(url, body, connections=1, seconds=1, auth=auth, extra_env=headers)  # warm
        phase = Phase(pid or os.getpid(), bench.olga_core)  # direct: nginx is not measured
        spy = bench.args.py_spy
        profiler = None
        if spy and side == bench.args.py_spy_side and out["body_kb"] > 100 and not out.get("profiled"):
            profiler = await overhead.start_py_spy(spy, pid, bench.load_core, seconds)
            out["profiled"] = True
        with phase.measure():
            result = await bench.wrk.run(
                url, body, connections=1, seconds=seconds, auth=auth, extra_env=headers
            )
        if profiler is not None:
            await asyncio.wait_for(profiler.wait(), timeout=60)
        if result["errors"]:
            raise SystemExit(f"{side}: {result['errors']} errors on a {out['body_kb']} KB body")
        result["process"] = phase.per_request(result["requests"]) if pid else None
        out[side] = result
    for side in ("bare", "olga", "guarded"):
        out[f"{side}_added_p50_ms"] = (out[side]["p50_us"] - out["direct"]["p50_us"]) / 1000
        out[f"{side}_added_p99_ms"] = (out[side]["p99_us"] - out["direct"]["p99_us"]) / 1000
    return out


async def prime(url: str, body: bytes, auth: str) -> float:
    """One request before measuring: the first sight of a body fills the guardrails' content cache
    (the classifier reads every window of text it has not seen), as an agent's earlier turns would."""
    headers = {"Content-Type": "application/json", "anthropic-version": "2023-06-01"}
    if auth:
        headers["Authorization"] = auth
    timeout = aiohttp.ClientTimeout(total=600)
    started = time.perf_counter()
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(url, data=body, headers=headers) as r,
    ):
        if r.status != 200:
            raise SystemExit(f"{url} answered {r.status}: {(await r.read())[:300]!r}")
        await r.read()
    return (time.perf_counter() - started) * 1000


async def many_streams(
    bench: AgentBench, url: str, auth: str, count: int, words: list[str], ramp: float
) -> dict[str, Any]:
    """``count`` paced streams at once; olga's memory and open files sampled while they run."""
    body = overhead.body_of(f"benchpaced/{upstreams.MODEL}", stream=True)
    headers = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}
    pid = bench.olga_pid
    before = {"rss_mb": rss_mb(pid), "fds": open_files(pid)}
    peak = before["rss_mb"]
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    trips: list[list[tuple[int, float]]] = [[] for _ in range(count)]
    with load.collector_paused():
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            async def one(index: int) -> list[float]:
                # Streams open over the ramp, not all in one instant.
                await asyncio.sleep(ramp * index / count)
                return await load.paced_once(session, url, body, headers, words, trips[index])

            tasks = [asyncio.create_task(one(i)) for i in range(count)]
            while not all(t.done() for t in tasks):
                await asyncio.wait(tasks, timeout=0.5)
                peak = max(peak, rss_mb(pid))
            runs = [t.result() for t in tasks]
    await asyncio.sleep(2.0)  # connections closed, records committed
    return {
        "streams": count,
        "gaps": load.gaps(runs),
        "trips": [ms for stream in trips for _, ms in stream],
        "trips_all_open": all_open(trips),
        "before": before,
        "peak_rss_mb": peak,
        "after": {"rss_mb": rss_mb(pid), "fds": open_files(pid)},
    }


def all_open(streams: list[list[tuple[int, float]]]) -> list[float]:
    """The trips of words written while every stream was open: after the last stream's first word
    was written and before the first stream's last one."""
    start = max(trips[0][0] for trips in streams)
    end = min(trips[-1][0] for trips in streams)
    return [ms for trips in streams for sent, ms in trips if start < sent < end]


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def streams_phase(bench: AgentBench, args: argparse.Namespace) -> dict[str, Any]:
    words = [upstreams.paced_word(i) for i in range(args.chunks)]
    direct = await many_streams(
        bench, bench.url("paced", "/paced/v1/chat/completions"), "", args.streams, words, args.ramp
    )
    # The bare proxy on olga's core, one round: what the stack alone adds to a word's trip.
    bare = await many_streams(
        bench, bench.url("bare_paced", "/paced/v1/chat/completions"), "", args.streams, words, args.ramp
    )
    rounds = [
        await many_streams(
            bench,
            bench.url("olga", "/v1/chat/completions"),
            f"Bearer {bench.key}",
            args.streams,
            words,
            args.ramp,
        )
        for _ in range(2)
    ]
    direct_gaps = direct.pop("gaps")
    bare.pop("gaps")
    via_gaps = [g for r in rounds for g in r.pop("gaps")]
    # A word's trip from the upstream's write to the client, olga's added delay per chunk: each
    # percentile through olga against the direct trip's median. An upper bound: the load generator's
    # own lateness (the direct trips' tail, with thousands of streams on one core) counts as olga's;
    # a percentile of one run against the same percentile of another could even come out negative.
    trips = {
        name: (direct.pop(name), [ms for r in rounds for ms in r.pop(name)])
        for name in ("trips", "trips_all_open")
    }
    added = {  # none while all streams are open when the ramp is longer than a stream
        f"added_{label}_{q}_ms": pct(via, q) - pct(plain, 50) if plain and via else math.nan
        for label, (plain, via) in (("delay", trips["trips"]), ("delay_all_open", trips["trips_all_open"]))
        for q in (50, 99)
    }
    added_open = not math.isnan(added["added_delay_all_open_99_ms"])
    floor = {
        f"bare_added_{label}_{q}_ms": pct(bare[name], q) - pct(trips[name][0], 50)
        if bare[name] and trips[name][0]
        else math.nan
        for label, name in (("delay", "trips"), ("delay_all_open", "trips_all_open"))
        for q in (50, 99)
    }
    return {
        **added,
        **floor,
        "direct_trip": summary_ms(trips["trips"][0]),
        "olga_trip": summary_ms(trips["trips"][1]),
        "direct_trip_all_open": summary_ms(trips["trips_all_open"][0]) if added_open else None,
        "olga_trip_all_open": summary_ms(trips["trips_all_open"][1]) if added_open else None,
        "streams": args.streams,
        "gap_ms": args.gap_ms,
        "chunks": args.chunks,
        "direct_gap": summary_ms(direct_gaps),
        "olga_gap": summary_ms(via_gaps),
        "added_gap_p50_ms": pct(via_gaps, 50) - pct(direct_gaps, 50),
        "added_gap_p99_ms": pct(via_gaps, 99) - pct(direct_gaps, 99),
        "added_gap_mean_ms": statistics.fmean(via_gaps) - statistics.fmean(direct_gaps),
        "rounds": rounds,
        "rss_growth_pct": (rounds[1]["peak_rss_mb"] / rounds[0]["peak_rss_mb"] - 1) * 100,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    pin = len(os.sched_getaffinity(0)) >= 2 and not args.no_pin
    if pin:
        os.sched_setaffinity(0, {overhead.LOAD_CORE})
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpu": overhead._cpu_model(), "pinned": pin, "loadavg_start": load.loadavg()},
        "git": overhead._git(),
        "settings": {k: v for k, v in vars(args).items() if k != "no_save"},
        "targets": TARGETS,
    }
    with tempfile.TemporaryDirectory(prefix="olga-agent-bench-") as tmp:
        bench = AgentBench(args, Path(tmp), pin)
        try:
            await bench.start()
            print(f"agent body, {AGENT_KB} KB, concurrency 1 ({args.seconds:g}s each side)...", flush=True)
            results["agent"] = await latency(bench, sized_body(AGENT_KB), args.seconds)
            results["curve"] = {}
            for kb in [int(k) for k in args.curve.split(",") if k]:
                print(f"cost per KB: {kb} KB...", flush=True)
                results["curve"][str(kb)] = await latency(bench, sized_body(kb), args.seconds)
            print(
                f"{args.streams} streams at once, {args.chunks} chunks {args.gap_ms:g} ms apart...",
                flush=True,
            )
            results["streams"] = await streams_phase(bench, args)
        finally:
            bench.stop()
    results["machine"]["loadavg_end"] = load.loadavg()
    results["verdict"] = verdict(results)
    return results


def verdict(r: dict[str, Any]) -> dict[str, dict[str, Any]]:
    agent = r["agent"]
    figures = {
        "agent_added_p50_ms": agent["olga_added_p50_ms"],
        "agent_guarded_added_p50_ms": agent["guarded_added_p50_ms"],
        "streams_added_delay_p99_ms": r["streams"]["added_delay_99_ms"],
        "streams_added_delay_all_open_p99_ms": r["streams"]["added_delay_all_open_99_ms"],
        "streams_rss_growth_pct": r["streams"]["rss_growth_pct"],
    }
    return {
        name: {"value": round(v, 3), "target": TARGETS[name], "met": v <= TARGETS[name]}
        for name, v in figures.items()
        if not math.isnan(v)
    }


def report(r: dict[str, Any]) -> str:
    lines = [
        f"olga agent-body bench  {r['date']}  load {r['machine']['loadavg_start']} -> {r['machine']['loadavg_end']}"
    ]
    lines.append("")
    lines.append(
        f"{'body':>9}{'bare +p50':>11}{'olga +p50':>11}{'guarded +p50':>14}{'olga +p99':>11}"
        f"{'olga CPU':>10}{'guarded CPU':>13}{'bare CPU':>10}   (ms; CPU per request)"
    )
    for label, row in [("agent", r["agent"]), *((f"{kb} KB", row) for kb, row in r["curve"].items())]:
        lines.append(
            f"{row['body_kb']:>7.0f}KB{row['bare_added_p50_ms']:11.3f}{row['olga_added_p50_ms']:11.3f}"
            f"{row['guarded_added_p50_ms']:14.3f}{row['olga_added_p99_ms']:11.3f}"
            f"{row['olga']['process']['cpu_ms']:10.3f}{row['guarded']['process']['cpu_ms']:13.3f}"
            f"{row['bare']['process']['cpu_ms']:10.3f}   {label}"
        )
    kbs = [row["body_kb"] for row in r["curve"].values()]
    for side in ("olga", "guarded") if len(kbs) >= 2 else ():
        own = [row[f"{side}_added_p50_ms"] - row["bare_added_p50_ms"] for row in r["curve"].values()]
        slope = (own[-1] - own[0]) / (kbs[-1] - kbs[0]) * 1000
        lines.append(f"{side}: about {slope:.1f} µs of added latency per KB of body beyond the bare proxy's")
    first = r["agent"]
    lines.append(
        f"first sight of the {first['body_kb']:.0f} KB body (nothing cached yet), ms: bare {first['bare_first_ms']:.1f}, "
        f"olga {first['olga_first_ms']:.1f}, guarded {first['guarded_first_ms']:.1f}"
    )
    s = r["streams"]
    lines.append(
        f"{s['streams']} streams at once: added delay per word p50 {s['added_delay_50_ms']:+.2f} ms, "
        f"p99 {s['added_delay_99_ms']:+.2f} ms (all streams open: {s['added_delay_all_open_50_ms']:+.2f}, "
        f"{s['added_delay_all_open_99_ms']:+.2f}; the bare proxy's p99 {s['bare_added_delay_99_ms']:+.2f}, "
        f"all open {s['bare_added_delay_all_open_99_ms']:+.2f}); gap between words p50 {s['added_gap_p50_ms']:+.2f}, "
        f"p99 {s['added_gap_p99_ms']:+.2f}; "
        + "; ".join(
            f"round {i + 1}: RSS {x['before']['rss_mb']:.0f} -> peak {x['peak_rss_mb']:.0f} -> {x['after']['rss_mb']:.0f} MB, "
            f"files {x['before']['fds']} -> {x['after']['fds']}"
            for i, x in enumerate(s["rounds"])
        )
    )
    lines.append("")
    for name, v in r["verdict"].items():
        lines.append(f"{name:30}{v['value']:10.3f}{v['target']:8g}  {'yes' if v['met'] else 'NO'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5, help="length of each latency run")
    parser.add_argument("--streams", type=int, default=2000, help="paced streams open at once")
    parser.add_argument("--gap-ms", type=float, default=1000, help="gap between a paced stream's chunks")
    parser.add_argument("--chunks", type=int, default=10, help="content chunks in each paced stream")
    parser.add_argument("--ramp", type=float, default=2.0, help="seconds over which the streams open")
    parser.add_argument(
        "--phases",
        default="spread",
        choices=("spread", "arrival"),
        help="when a stream's words fall in the gap: spread evenly by the upstream, or set by when its"
        " request arrived (a stall while the streams open then bunches them for the whole run)",
    )
    parser.add_argument("--serve-args", default="", help="more arguments for olga serve")
    parser.add_argument("--py-spy", metavar="FILE", help="profile olga on the agent body (collapsed stacks)")
    parser.add_argument(
        "--py-spy-side", default="olga", choices=("olga", "guarded"), help="which side to profile"
    )
    parser.add_argument(
        "--curve", default=",".join(map(str, CURVE_KB)), help="body sizes in KB, comma-separated"
    )
    parser.add_argument("--no-bodies", action="store_true", help="olga keeps no bodies in its records")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    parser.add_argument("--no-save", action="store_true", help="print only; do not write bench/results/")
    args = parser.parse_args()
    args.no_bare = False
    for tool in ("nginx", "wrk", "taskset"):
        overhead.require(tool, f"apt-get update && apt-get install -y {tool}")
    results = asyncio.run(run(args))
    print()
    print(report(results))
    if not args.no_save:
        path = overhead.save(results, "agent")
        print(f"\nsaved {path.relative_to(overhead.ROOT)} and bench/results/agent-latest.json")


if __name__ == "__main__":
    sys.exit(main())

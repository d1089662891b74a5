"""What team mode costs: one olga on SQLite against one on PostgreSQL, with and without Redis, and
two instances against one.

Starts nginx (the fixed chat completion of ``bench/overhead.py``), a redis-server of its own on a
free port, and, one setup after the other, ``olga serve`` on:

- ``sqlite``: the embedded store (the single developer's olga), the reference;
- ``postgresql``: a database of its own on the PostgreSQL at ``--database-url`` (created and dropped);
- ``postgresql+redis``: the same with ``--redis-url`` (rate limits, key rests and breakers in Redis);
- ``2 instances``: ``olga serve --workers 2`` on PostgreSQL + Redis, both cores.

Each single instance is pinned to core 0; nginx and wrk to core 1 (PostgreSQL and Redis run where the
kernel puts them). For each: latency p50/p99 at concurrency 1 (wrk, one connection) and throughput at
concurrency 16, with a key holding credits; then the same throughput with a key under ``--rpm``
(counted in PostgreSQL, or in Redis). And, independent of the machine's load, what each request costs
the servers: PostgreSQL transactions (``pg_stat_database``, the bench's own database) and statements
(each a round trip: the data segments olga's sockets sent to PostgreSQL, from ``ss``), and Redis
commands (``INFO commandstats`` of the bench's own Redis) per request.

    python bench/team.py                  # about three minutes
    python bench/team.py --seconds 3      # a quick check that it all runs
    python bench/team.py --store-loop 2000  # the store alone: a request's hold, then its batch

``--store-loop N`` leaves olga's server out: N times in a row, the two calls a request at concurrency
1 makes to PostgreSQL (``holds.take``, then ``records.write_batch`` with a record like the bench's),
each call's wall time and this process's CPU per cycle (olga's side: asyncpg, the pool, the batch's
encoding), and the CPU of the PostgreSQL backends that served them. Fewer processes take part, so it
varies less with the machine's load than the phases do.

Needs nginx, wrk, redis-server, ss (iproute2) and a PostgreSQL that lets this user create databases
(``--database-url``, default postgresql://127.0.0.1:5432/test). Results are printed and saved to
``bench/results/team-<date>.json`` and ``bench/results/team-latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import load
import redis.asyncio as redis
import upstreams
from load import CLK_TCK, Wrk, cpu_ticks, pinned
from overhead import (
    LOAD_CORE,
    MODEL,
    OLGA_CORE,
    ROOT,
    _cpu_model,
    _git,
    body_of,
    free_port,
    olga,
    spawn,
    stop,
    wait_http,
)

RESULTS = Path(__file__).resolve().parent / "results"
# The targets.
TARGETS = {
    "added_p50_vs_sqlite_ms": 0.5,
    "throughput_vs_sqlite": 0.70,
    "two_instances_vs_one": 1.7,
}
SETUPS = ("sqlite", "postgresql", "postgresql+redis", "2 instances")
PHASES = ("c1", "c8", "c16", "c16_rpm")


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


class Servers:
    """nginx, Redis and the bench's own PostgreSQL database, for the whole run."""

    def __init__(self, workdir: Path, database_url: str) -> None:
        self.workdir = workdir
        self.admin_url = database_url
        self.database = "olga_bench_" + secrets.token_hex(4)
        self.database_url = with_database(database_url, self.database)
        self.ports = {"nginx": free_port(), "redis": free_port()}
        self.redis_url = f"redis://127.0.0.1:{self.ports['redis']}/0?prefix=bench:"
        self.procs: list[tuple[subprocess.Popen[bytes], int]] = []
        self.pids: dict[str, int] = {}

    async def start(self) -> None:
        w = self.workdir
        (w / "nginx.conf").write_text(upstreams.nginx_conf(w, self.ports["nginx"]))
        argv = ["nginx", "-p", str(w), "-e", str(w / "nginx-error.log"), "-c", str(w / "nginx.conf")]
        nginx = spawn(pinned(LOAD_CORE, argv), w / "nginx.out")
        self.procs.append((nginx, signal.SIGQUIT))
        argv = ["redis-server", "--port", str(self.ports["redis"]), "--bind", "127.0.0.1", "--save", ""]
        redis_server = spawn(argv, w / "redis.out")
        self.procs.append((redis_server, signal.SIGTERM))
        self.pids = {"nginx": nginx.pid, "redis": redis_server.pid}
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f"CREATE DATABASE {self.database}")
        finally:
            await admin.close()
        await wait_http(f"http://127.0.0.1:{self.ports['nginx']}/", 10, nginx, w / "nginx-error.log")

    async def stop(self) -> None:
        for proc, sig in reversed(self.procs):
            stop(proc, sig)
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
        finally:
            await admin.close()

    async def round_trips(self, olga_pid: int) -> tuple[int, int, int, int]:
        """(PostgreSQL transactions in the bench's database, messages olga sent to PostgreSQL, Redis
        round trips, Redis commands with those run inside scripts) so far. olga's round trips to Redis
        are its scripts and the few plain commands it sends (a key's rest, a circuit's reset); the
        health check's PING is left out."""
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute("SELECT pg_stat_clear_snapshot()")
            xacts = await admin.fetchval(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1", self.database
            )
        finally:
            await admin.close()
        client = redis.Redis(port=self.ports["redis"])
        try:
            stats = await client.info("commandstats")
        finally:
            await client.aclose()
        calls = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}
        trips = sum(calls.get(name, 0) for name in ("evalsha", "eval", "set", "del", "script|load"))
        commands = sum(
            n for name, n in calls.items() if name not in ("info", "ping", "hello", "client|setinfo")
        )
        return int(xacts or 0), pg_writes(olga_pid, urlsplit(self.database_url).port or 5432), trips, commands


def family(pid: int) -> set[int]:
    """A process and its descendants (``--workers``: olga's processes are its children)."""
    pids = {pid}
    for _ in range(3):
        for p in list(pids):
            for task in Path(f"/proc/{p}/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    pids.update(int(c) for c in task.read_text().split())
    return pids


def ticks_of(pids: set[int]) -> dict[int, int]:
    """User + system clock ticks of each process still there, all its threads included."""
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            user, system = cpu_ticks(pid)
            found[pid] = user + system
    return found


def machine_busy_ticks() -> int:
    """Ticks every core of the machine spent on anything but idling, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values[:8]) - values[3] - values[4]


CPU_GROUPS = ("olga", "postgresql", "redis", "nginx")


async def cpu_snapshot(servers: Servers, olga_pid: int) -> dict[str, dict[int, int]]:
    """CPU ticks so far of each process of each group: olga (every instance), the PostgreSQL backends
    serving the bench's database (not the server's shared writers, which other databases use too),
    the bench's Redis and nginx; and the whole machine's busy ticks, to see how full its cores are."""
    admin = await asyncpg.connect(servers.admin_url)
    try:
        rows = await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            servers.database,
        )
    finally:
        await admin.close()
    return {
        "olga": ticks_of(family(olga_pid)),
        "postgresql": ticks_of({int(row["pid"]) for row in rows}),
        "redis": ticks_of({servers.pids["redis"]}),
        "nginx": ticks_of(family(servers.pids["nginx"])),
        "machine": {0: machine_busy_ticks()},
    }


def cpu_per_request(
    before: dict[str, dict[int, int]], after: dict[str, dict[int, int]], requests: int, wall: float
) -> dict[str, Any]:
    """Each group's CPU per request (ms), how busy each olga process was (share of one core) and the
    machine's cores busy on anything (of ``os.cpu_count()``). A process that started during the phase
    counts whole; one that ended during it is missed."""
    n, out = max(requests, 1), {}
    for group in CPU_GROUPS:
        deltas = {pid: t - before[group].get(pid, 0) for pid, t in after[group].items()}
        out[group + "_cpu_ms"] = round(sum(deltas.values()) / CLK_TCK * 1000 / n, 4)
        if group == "olga":
            busy = sorted((d / CLK_TCK / wall for d in deltas.values() if d > 0), reverse=True)
            out["olga_processes_core_share"] = [round(b, 3) for b in busy]
    machine = after["machine"][0] - before["machine"][0]
    out["machine_cores_busy"] = round(machine / CLK_TCK / wall, 3)
    return out


def pg_writes(pid: int, port: int) -> int:
    """TCP segments carrying data that ``pid`` and its children sent to PostgreSQL's port so far, from
    the kernel's counters (``ss``): asyncpg sends each statement (Parse, Bind, Execute, Sync) in one
    write, so this counts statements, round trips, without touching olga. Exact where transactions
    are not: ``pg_stat_database`` is updated by each backend at most once a second."""
    pids = family(pid)
    out = subprocess.run(
        ["ss", "-tinpH", "state", "established", f"( dport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total, owned = 0, False
    for line in out.splitlines():
        if not line.startswith((" ", "\t")):  # a socket's line, naming its process; its counters follow
            owned = any(f"pid={p}," in line for p in pids)
        elif owned:
            for field in line.split():
                if field.startswith("data_segs_out:"):
                    total += int(field.split(":", 1)[1])
    return total


def set_up(home: Path, nginx_port: int, store: list[str]) -> tuple[str, str]:
    """A provider pointing at nginx, a priced model, and two keys with credits (one under --rpm)."""
    olga(
        home,
        *store,
        "providers",
        "add",
        "bench",
        "--kind",
        "openai-compatible",
        "--base-url",
        f"http://127.0.0.1:{nginx_port}/plain/v1",
        "--api-key",
        "sk-bench-upstream",
        "--json",
    )
    price = {"input_per_mtok": "0.15", "output_per_mtok": "0.60", "context_window": 128000}
    overlay = {"models": {f"bench/{MODEL}": {"provider": "bench", "upstream": MODEL, **price}}}
    (home / "model_catalog.json").write_text(json.dumps(overlay))
    name = "bench-" + secrets.token_hex(3)
    plain = json.loads(olga(home, *store, "keys", "create", "--name", name, "--credits", "1000000", "--json"))
    paced = json.loads(
        olga(
            home,
            *store,
            "keys",
            "create",
            "--name",
            name + "-rpm",
            "--credits",
            "1000000",
            "--rpm",
            "100000000",
            "--json",
        )
    )
    return str(plain["key"]), str(paced["key"])


async def measure_setup(args: argparse.Namespace, servers: Servers, setup: str) -> dict[str, Any]:
    workdir = servers.workdir / setup.replace(" ", "-").replace("+", "-")
    home = workdir / "home"
    home.mkdir(parents=True)
    store = [] if setup == "sqlite" else ["--database-url", servers.database_url]
    serve_flags = list(store)
    if setup != "sqlite" and setup != "postgresql":
        serve_flags += ["--redis-url", servers.redis_url]
    if setup == "2 instances":
        serve_flags += ["--workers", "2"]
    plain_key, paced_key = set_up(home, servers.ports["nginx"], store)
    port = free_port()
    core = None if setup == "2 instances" else OLGA_CORE
    argv = [sys.executable, "-m", "olga_cli", "serve", "--quiet", "--port", str(port), *serve_flags]
    server = spawn(
        pinned(core, argv), workdir / "olga.out", env={**os.environ, "OLGA_HOME": str(home)}, cwd=ROOT
    )
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    wrk = Wrk(workdir, LOAD_CORE)
    body = body_of(f"bench/{MODEL}", stream=False)
    out: dict[str, Any] = {}
    try:
        await wait_http(f"http://127.0.0.1:{port}/health", 30, server, workdir / "olga.out")
        print(f"{setup}: warming up, then c1, c16, c16 with --rpm ({args.seconds:g}s each)...", flush=True)
        await wrk.run(url, body, connections=16, seconds=args.warmup, auth=f"Bearer {plain_key}")
        phases = (
            ("c1", 1, plain_key),
            ("c8", 8, plain_key),
            ("c16", 16, plain_key),
            ("c16_rpm", 16, paced_key),
        )
        for phase, connections, key in (p for p in phases if p[0] in args.phases):
            before, cpu0 = await servers.round_trips(server.pid), await cpu_snapshot(servers, server.pid)
            t0 = time.perf_counter()
            got = await wrk.run(
                url, body, connections=connections, seconds=args.seconds, auth=f"Bearer {key}"
            )
            wall = time.perf_counter() - t0
            cpu1, after = await cpu_snapshot(servers, server.pid), await servers.round_trips(server.pid)
            out[phase] = {k: got[k] for k in ("requests", "rps", "p50_us", "p99_us", "errors")}
            out[phase]["per_request"] = {
                **per_request(before, after, got["requests"]),
                **cpu_per_request(cpu0, cpu1, got["requests"], wall),
            }
            out[phase]["loadavg"] = load.loadavg()
    finally:
        stop(server, signal.SIGINT)
    return out


def per_request(before: tuple[int, ...], after: tuple[int, ...], requests: int) -> dict[str, float]:
    """What each request of a phase cost the servers (the lease's beat, once a second, included)."""
    n = max(requests, 1)
    names = ("pg_transactions", "pg_statements", "redis_round_trips", "redis_commands_in_all")
    return {name: round((b - a) / n, 2) for name, a, b in zip(names, before, after, strict=True)}


def verdict(results: dict[str, Any]) -> dict[str, Any]:
    setups = results["setups"]
    base = setups.get("sqlite")
    found: dict[str, Any] = {}
    for name in ("postgresql", "postgresql+redis"):
        if name in setups and base is not None and "c16" in base:
            found[name] = {
                "added_p50_vs_sqlite_ms": (setups[name]["c1"]["p50_us"] - base["c1"]["p50_us"]) / 1000,
                "throughput_vs_sqlite": setups[name]["c16"]["rps"] / base["c16"]["rps"],
            }
    if "2 instances" in setups and "postgresql+redis" in setups and "c16" in setups["2 instances"]:
        one, two = setups["postgresql+redis"], setups["2 instances"]
        found["two_instances_vs_one"] = two["c16"]["rps"] / one["c16"]["rps"]
        # Whether a second instance makes each request dearer (contention between instances) or only
        # finds no free core: the work per request of one instance at concurrency 8 (what each of two
        # carries at 16) and 16, against two instances at 16.
        compared = [
            ("one instance c8", one.get("c8")),
            ("one instance c16", one["c16"]),
            ("two instances c16", two["c16"]),
        ]
        found["two_instances_work_per_request"] = {
            label: {
                name: phase["per_request"][name]
                for name in (
                    "olga_cpu_ms",
                    "postgresql_cpu_ms",
                    "redis_cpu_ms",
                    "pg_statements",
                    "olga_processes_core_share",
                    "machine_cores_busy",
                )
            }
            | {"rps": round(phase["rps"])}
            for label, phase in compared
            if phase is not None
        }
    return found


def bench_record(generation_id: str, key_id: str, at: float) -> Any:
    """A record like the one a bench request leaves (the answer of ``upstreams.chat_completion``)."""
    from olga_cli.records import Attempt, GenerationRecord

    return GenerationRecord(
        id=generation_id,
        created_at=at,
        key_id=key_id,
        key_name="bench",
        endpoint="/v1/chat/completions",
        model_requested=f"bench/{MODEL}",
        model=f"bench/{MODEL}",
        provider="bench",
        upstream_id="chatcmpl-bench0001",
        status=200,
        finish_reason="stop",
        tokens_prompt=14,
        tokens_completion=7,
        cost_pico=6_300_000,
        catalog_version="2026-11-22",
        latency_ms=13.4,
        overhead_ms=1.1,
        attempts=[Attempt(provider="bench", model=MODEL, status=200, latency_ms=12.3, key_label="key-1")],
        request_body=body_of(f"bench/{MODEL}", stream=False).decode(),
        response_body=upstreams.chat_completion().decode(),
    )


async def store_loop(database_url: str, cycles: int) -> dict[str, Any]:
    """A request's two calls to the store, ``cycles`` times in a row, in a schema of its own."""
    from olga_cli.store.db import open_store
    from olga_cli.store.holds import HoldRequest, hold_settle
    from olga_cli.store.limits import admission_insert

    schema = "olga_loop_" + secrets.token_hex(4)
    admin = await asyncpg.connect(database_url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in database_url else "?"
    store = await open_store(f"{database_url}{sep}search_path={schema}&application_name={schema}")
    try:
        assert store.holds is not None
        row, _ = await store.keys.create_key(name="loop", credits_pico=10**15)
        hold_ms: list[float] = []
        batch_ms: list[float] = []

        async def cycle() -> None:
            assert store.holds is not None
            gid, at = "gen-" + secrets.token_hex(14), time.time()
            t0 = time.perf_counter()
            held = HoldRequest(
                gid, "olga-loop", row.id, None, at, True, 56_250_000, 56_250_000, 183, 0, None, None
            )
            assert await store.holds.take(held) is None
            t1 = time.perf_counter()
            admission = admission_insert(
                generation_id=gid, key_id=row.id, team_id=None, at=at, cost=6_300_000, tokens=21
            )
            await store.records.write_batch([bench_record(gid, row.id, at)], [admission, hold_settle(gid)])
            hold_ms.append((t1 - t0) * 1000)
            batch_ms.append((time.perf_counter() - t1) * 1000)

        for _ in range(min(cycles, 100)):  # statements prepared, connections opened
            await cycle()
        hold_ms.clear(), batch_ms.clear()
        backends = "SELECT pid FROM pg_stat_activity WHERE application_name = $1"
        pids = {int(r["pid"]) for r in await admin.fetch(backends, schema)}
        pg0, me0 = ticks_of(pids), time.process_time()
        for _ in range(cycles):
            await cycle()
        me, pg1 = time.process_time() - me0, ticks_of(pids)
        pg = sum(pg1[p] - pg0.get(p, 0) for p in pg1) / CLK_TCK
        return {
            "cycles": cycles,
            "hold_p50_ms": round(statistics.median(hold_ms), 3),
            "batch_p50_ms": round(statistics.median(batch_ms), 3),
            "olga_cpu_ms": round(me / cycles * 1000, 3),
            "postgresql_cpu_ms": round(pg / cycles * 1000, 3),
            "loadavg": load.loadavg(),
        }
    finally:
        await store.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    for tool in ("nginx", "wrk", "redis-server", "taskset", "ss"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench/team.py needs {tool} on PATH")
    os.sched_setaffinity(0, {LOAD_CORE})
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpu": _cpu_model(), "cores": os.cpu_count(), "loadavg_start": load.loadavg()},
        "git": _git(),
        "settings": {"seconds": args.seconds, "warmup": args.warmup},
        "targets": TARGETS,
        "setups": {},
    }
    with tempfile.TemporaryDirectory(prefix="olga-bench-team-") as tmp:
        servers = Servers(Path(tmp), args.database_url)
        await servers.start()
        try:
            for setup in args.setups:
                results["setups"][setup] = await measure_setup(args, servers, setup)
                time.sleep(1.0)
        finally:
            await servers.stop()
    results["machine"]["loadavg_end"] = load.loadavg()
    results["verdict"] = verdict(results)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured phase")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument(
        "--database-url", default=os.environ.get("OLGA_TEST_DATABASE_URL", "postgresql://127.0.0.1:5432/test")
    )
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=SETUPS)
    parser.add_argument("--phases", nargs="+", default=list(PHASES), choices=PHASES)
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--store-loop", type=int, metavar="N", help="only the store's two calls, N times")
    args = parser.parse_args()
    if args.store_loop:
        print(json.dumps(asyncio.run(store_loop(args.database_url, args.store_loop)), indent=1))
        return
    results = asyncio.run(run(args))
    print(json.dumps(results["setups"], indent=1))
    print(json.dumps(results["verdict"], indent=1))
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d-%H%M%S")
        for name in (f"team-{stamp}.json", "team-latest.json"):
            (RESULTS / name).write_text(json.dumps(results, indent=1) + "\n")
        print(f"saved to {RESULTS}/team-{stamp}.json")


if __name__ == "__main__":
    main()

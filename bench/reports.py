"""Do `olga logs` and `olga usage` stay fast on a store of a million records?

Seeds a temporary home with ``--records`` generation records (default 1,000,000) spread over 60 days,
20 keys, 8 models and a mix of statuses, with short bodies, in one transaction through
``executemany`` (the usage trigger runs for each row, as it does in production). Then times, each
``--repeat`` times, the store queries behind the commands and the commands themselves as a user runs
them (a fresh ``python -m olga_cli`` process, start-up included; compare with ``olga --version``):

- ``olga logs --limit 50``, ``olga logs --limit 50 --key K``, ``--status 5xx``, ``--model M``;
- ``olga usage --since 30d`` (by model) and ``--by key``, ``--by day``;
- one ``--follow`` poll (high-water mark plus the rows after it).

    python bench/reports.py                    # about two minutes, most of it seeding
    python bench/reports.py --records 100000   # quicker

Results are printed and saved to ``bench/results/reports.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from olga_cli import __version__
from olga_cli.store import reports
from olga_cli.store.db import open_store

DAY = 86400
MODELS = [
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4o"),
    ("anthropic", "claude-haiku-4-5"),
    ("anthropic", "claude-sonnet-4-5"),
    ("openai", "o3-mini"),
    ("mock", "echo"),
    ("ollama", "llama3"),
    ("openai", "text-embedding-3-small"),
]
STATUSES = [200] * 90 + [429] * 4 + [500, 502, 502, 422, 499, 400]
COLUMNS = (
    "id",
    "created_at",
    "key_id",
    "key_name",
    "team_id",
    "app",
    "endpoint",
    "model_requested",
    "model",
    "provider",
    "upstream_id",
    "streamed",
    "status",
    "error",
    "finish_reason",
    "tokens_prompt",
    "tokens_completion",
    "tokens_cached",
    "tokens_cache_write",
    "usage_estimated",
    "cost_pico",
    "latency_ms",
    "ttft_ms",
    "overhead_ms",
    "request_id",
    "attempts",
    "guardrails",
    "request_body",
    "response_body",
)


async def create(home: Path) -> None:
    db = await open_store(home / "olga.db")  # creates and migrates the schema
    await db.close()


def seed(path: Path, count: int, now: float) -> float:
    rng = random.Random(7)
    started = time.perf_counter()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    keys = [(f"key_{i:04d}", f"key-{i}", f"team_{i % 4}" if i % 3 else None) for i in range(20)]
    db.executemany(
        "INSERT INTO keys (id, name, hash, prefix, team_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(k, n, f"hash-{k}", "sk-olga-xxxx", None, now, now) for k, n, _ in keys],
    )
    span = 60 * DAY
    marks = ", ".join("?" * len(COLUMNS))
    sql = f"INSERT INTO generations ({', '.join(COLUMNS)}) VALUES ({marks})"

    def rows() -> Any:
        for n in range(count):
            created = now - span + span * n / count  # commit order follows time, as in production
            key_id, key_name, team_id = keys[rng.randrange(len(keys))]
            provider, model = MODELS[rng.randrange(len(MODELS))]
            status = STATUSES[rng.randrange(len(STATUSES))]
            prompt, completion = rng.randrange(10, 4000), rng.randrange(0, 800) if status == 200 else 0
            attempt = json.dumps(
                [
                    {
                        "provider": provider,
                        "model": model,
                        "status": status,
                        "latency_ms": 300.0,
                        "error": None,
                        "key_label": "key-1",
                    }
                ]
            )
            yield (
                f"gen-{n:012x}{rng.getrandbits(64):016x}",
                created,
                key_id,
                key_name,
                team_id,
                "bench-app" if n % 5 == 0 else None,
                "/v1/chat/completions",
                model,
                f"{provider}/{model}",
                provider,
                f"chatcmpl-{n}",
                n % 2,
                status,
                None if status == 200 else "upstream_error",
                "stop",
                prompt,
                completion,
                0,
                0,
                0,
                (prompt * 150_000 + completion * 600_000) if status == 200 else 0,
                rng.uniform(150, 3000),
                rng.uniform(50, 500) if n % 2 else None,
                rng.uniform(0.5, 3),
                None,
                attempt,
                "[]",
                f'{{"model": "{model}", "messages": [{{"role": "user", "content": "hello"}}]}}',
                "Hello! How can I help you today?",
            )

    db.execute("BEGIN")
    db.executemany(sql, rows())
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return time.perf_counter() - started


def timed(samples: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(samples) * 1000, 2), "max_ms": round(max(samples) * 1000, 2)}


async def query_times(home: Path, repeat: int, now: float) -> dict[str, Any]:
    db = await open_store(home / "olga.db")
    try:
        cases: dict[str, Any] = {
            "logs --limit 50": lambda: db.reports.latest(reports.LogFilter(), limit=50),
            "logs --limit 50 --key": lambda: db.reports.latest(
                reports.LogFilter(key_id="key_0007"), limit=50
            ),
            "logs --limit 50 --status 5xx": lambda: db.reports.latest(
                reports.LogFilter(status=(500, 599)), limit=50
            ),
            "logs --limit 50 --model": lambda: db.reports.latest(
                reports.LogFilter(models=("anthropic/claude-haiku-4-5", "claude-haiku-4-5")), limit=50
            ),
            "logs --follow (one poll)": lambda: _poll(db),
            "usage --since 30d --by model": lambda: db.reports.usage(
                since=now - 30 * DAY, until=now, by="model"
            ),
            "usage --since 30d --by key": lambda: db.reports.usage(since=now - 30 * DAY, until=now, by="key"),
            "usage --since 30d --by day": lambda: db.reports.usage(since=now - 30 * DAY, until=now, by="day"),
        }
        results = {}
        for name, case in cases.items():
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                await case()
                samples.append(time.perf_counter() - started)
            results[name] = timed(samples)
        return results
    finally:
        await db.close()


async def _poll(db: Any) -> None:
    top = await db.reports.high_water()
    await db.reports.after(reports.LogFilter(key_id="key_0003"), after_rowid=top - 100, up_to=top)


def command_times(home: Path, repeat: int) -> dict[str, Any]:
    env = {**os.environ, "OLGA_HOME": str(home), "COLUMNS": "160"}
    commands = {
        "olga --version (start-up alone)": ["--version"],
        "olga logs --limit 50": ["logs", "--limit", "50"],
        "olga logs --limit 50 --json": ["logs", "--limit", "50", "--json"],
        "olga usage --since 30d": ["usage", "--since", "30d"],
        "olga usage --since 30d --by key --json": ["usage", "--since", "30d", "--by", "key", "--json"],
    }
    results = {}
    for name, args in commands.items():
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "olga_cli", *args], env=env, check=True, capture_output=True
            )
            samples.append(time.perf_counter() - started)
        results[name] = timed(samples)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results" / "reports.json"
    )
    args = parser.parse_args()
    now = time.time()
    with tempfile.TemporaryDirectory(prefix="olga-bench-reports-") as tmp:
        home = Path(tmp)
        asyncio.run(create(home))
        seconds = seed(home / "olga.db", args.records, now)
        print(
            f"seeded {args.records:,} records in {seconds:.1f} s "
            f"({(home / 'olga.db').stat().st_size / 2**20:.0f} MiB)",
            flush=True,
        )
        queries = asyncio.run(query_times(home, args.repeat, now))
        commands = command_times(home, args.repeat)
        result = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "olga": __version__,
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            # The machine is shared: a high load average explains slow outliers in the wall-clock figures.
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
            "records": args.records,
            "seed_seconds": round(seconds, 1),
            "db_mib": round((home / "olga.db").stat().st_size / 2**20),
            "repeat": args.repeat,
            "store_queries": queries,
            "commands_wall_clock": commands,
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

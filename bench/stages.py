"""What each stage of olga's request path costs by itself, in microseconds, with no network.

The overhead bench measures olga whole; this times the pure-Python stages of one non-streaming chat
request against a real gateway state (a temporary home, a priced model, a minted key), each stage run
in a tight loop, plus the store's batch writer at several batch sizes. Hot caches make these lower
bounds: in the running server, with requests interleaved, the same code costs more. The stages call
the pipeline's internal functions, so this script follows the code and may need a touch when the
pipeline changes.

    python bench/stages.py            # pinned to core 0 when there are two cores
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import upstreams
from multidict import CIMultiDict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from olga_cli.cli.render.records import access_line
from olga_cli.config import ConfigFile, load_config
from olga_cli.gateway import finish, pipeline
from olga_cli.gateway.admission.auth import authenticate
from olga_cli.gateway.admission.usage_limits import demand_of as limits_demand
from olga_cli.gateway.call import Call, Context
from olga_cli.gateway.state import open_gateway
from olga_cli.gateway.upstream.exchange import make_exchange
from olga_cli.providers.tokens import estimate_prompt_tokens
from olga_cli.records import Attempt, GenerationRecord, new_generation_id
from olga_cli.store.db import open_store
from olga_cli.store.generations import record_values
from olga_cli.store.limits import admission_insert

MODEL = "bench/bench-model"


def timed(fn: Callable[[], Any], number: int = 20000) -> float:
    fn()
    return timeit.timeit(fn, number=number) / number * 1e6


async def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="olga-stages-"))
    config_file = ConfigFile(home / "config.toml")
    config_file.table("providers")["bench"] = {
        "kind": "openai-compatible",
        "base_url": "http://127.0.0.1:9/v1",
        "api_key": "sk-bench",
    }
    config_file.save()
    price = {
        "provider": "bench",
        "upstream": "bench-model",
        "input_per_mtok": "0.15",
        "output_per_mtok": "0.60",
        "max_output_tokens": 16384,
        "endpoints": ["chat"],
    }
    (home / "model_catalog.json").write_text(json.dumps({"models": {MODEL: price}}))
    db = await open_store(home / "olga.db")
    row, key = await db.keys.create_key(name="bench", credits_pico=10**18)
    gw = await open_gateway(load_config(home), db=db)
    body = json.dumps(
        {
            "model": MODEL,
            "messages": [{"role": "user", "content": "Say hello in five words."}],
            "max_tokens": 64,
        }
    ).encode()
    headers = CIMultiDict(
        {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Host": "127.0.0.1"}
    )
    answer = upstreams.chat_completion()

    call = Call(api="chat", shape="openai", endpoint="/v1/chat/completions", headers=headers, raw_body=body)
    state = authenticate(gw.snapshot, headers, time.time())

    def context() -> Context:
        ctx = Context(call, state, finish.new_record(gw, call, state))
        ctx.body = pipeline.parse_body(call)
        ctx.targets = pipeline.plan_route(gw, ctx)
        return ctx

    ctx = context()
    exchange = make_exchange("chat", ctx.targets[0], ctx.body, dict(headers))
    converted = exchange.convert(answer)
    ctx.record.attempts.append(Attempt("bench", "bench-model", 200, 0.4, key_label="key-1"))

    admitted = context()

    def admit_and_release() -> None:
        pipeline.admit(gw, admitted)
        if admitted.reservation is not None:
            admitted.reservation.release()
        if admitted.limits is not None:
            admitted.limits.release()

    def limits_only() -> None:
        demand = limits_demand(admitted.body, cost=1_000_000, tokens=1000, key=state)
        gw.limits.admit(gw.snapshot, state, demand, now=time.time()).release()

    def fill() -> None:
        finish.fill(gw, ctx, converted.facts, status=200)

    def settle() -> None:
        filled = context()
        pipeline.admit(gw, filled)
        finish.fill(gw, filled, converted.facts, status=200)
        gw.limits.settle(filled.limits, filled.record)

    stages: list[tuple[str, Callable[[], Any]]] = [
        ("authenticate (hash the key, look it up)", lambda: authenticate(gw.snapshot, headers, time.time())),
        ("new record (id, dataclass)", lambda: finish.new_record(gw, call, state)),
        ("parse and validate the body", lambda: pipeline.parse_body(call)),
        ("plan the route (catalog, config)", lambda: pipeline.plan_route(gw, ctx)),
        ("admit: allow-lists, credits, limits (+release)", admit_and_release),
        ("  of which rate and usage limits (+release)", limits_only),
        ("  of which the prompt token estimate", lambda: estimate_prompt_tokens(admitted.body)),
        ("exchange: upstream body", lambda: make_exchange("chat", ctx.targets[0], ctx.body, dict(headers))),
        ("provider key pick", lambda: gw.keypools.pick(ctx.targets[0].provider, now=time.time())),
        ("upstream body to JSON", lambda: json.dumps(exchange.body, separators=(",", ":")).encode()),
        ("convert the answer (JSON parse, facts)", lambda: exchange.convert(answer)),
        ("meter: usage, cost, settle credits", fill),
        ("store bodies (decode)", lambda: finish.store_bodies(gw, ctx, converted.body.decode())),
        ("record row for SQLite", lambda: record_values(ctx.record)),
        ("access log line", lambda: access_line(ctx.record)),
    ]
    print(f"{'stage':52}{'µs':>8}")
    total = 0.0
    for name, fn in stages:
        cost = timed(fn)
        total += 0 if name.startswith("  ") else cost
        print(f"{name:52}{cost:8.2f}")
    print(f"{'sum of the stages (the of-which lines aside)':52}{total:8.2f}")
    print(f"{'(admit + meter + limits settle, together)':52}{timed(settle, 5000):8.2f}")
    print()
    print("store: one transaction of N records (+ charge, + admission row), CPU per record")
    for size in (1, 4, 16):
        records = 1200
        started = time.process_time()
        for _ in range(records // size):
            batch = [
                GenerationRecord(
                    id=new_generation_id(),
                    created_at=time.time(),
                    key_id=row.id,
                    key_name="bench",
                    endpoint="/v1/chat/completions",
                    model_requested=MODEL,
                    model=MODEL,
                    provider="bench",
                    status=200,
                    tokens_prompt=14,
                    tokens_completion=7,
                    cost_pico=6_300_000,
                    request_body=body.decode(),
                    response_body=answer.decode(),
                    attempts=[Attempt("bench", "bench-model", 200, 0.4)],
                )
                for _ in range(size)
            ]
            extras = [
                admission_insert(
                    generation_id=r.id,
                    key_id=row.id,
                    team_id=None,
                    at=r.created_at,
                    cost=r.cost_pico,
                    tokens=21,
                )
                for r in batch
            ]
            await db.records.write_batch(batch, extras)
        print(
            f"  batch of {size:2}: {(time.process_time() - started) / records * 1e6:7.1f} µs per record "
            "(both threads)"
        )
    await db.close()


if __name__ == "__main__":
    if len(os.sched_getaffinity(0)) >= 2:
        os.sched_setaffinity(0, {0})
    asyncio.run(main())

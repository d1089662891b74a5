"""Generation records for reporting tests, written through the recorder's own batch writer."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

from olga_cli.records import Attempt, GenerationRecord
from olga_cli.store.db import open_store

_counter = itertools.count()


def make_record(**fields: Any) -> GenerationRecord:
    """A finished chat request on openai/gpt-4o-mini unless told otherwise."""
    n = next(_counter)
    values: dict[str, Any] = {
        "id": f"gen-test{n:08d}",
        "created_at": time.time(),
        "key_id": "key_test",
        "key_name": "laptop",
        "endpoint": "/v1/chat/completions",
        "model_requested": "gpt-4o-mini",
        "model": "openai/gpt-4o-mini",
        "provider": "openai",
        "status": 200,
        "tokens_prompt": 12,
        "tokens_completion": 7,
        "cost_pico": 6_000_000,
        "latency_ms": 412.5,
        "ttft_ms": None,
        "overhead_ms": 1.5,
        "finish_reason": "stop",
    }
    values.update(fields)
    if "attempts" not in fields and values["provider"]:
        model = str(values["model"] or "").split("/", 1)[-1]
        values["attempts"] = [
            Attempt(
                values["provider"], model, values["status"], values["latency_ms"] - 1.5, key_label="key-1"
            )
        ]
    return GenerationRecord(**values)


async def seed(home: Path, records: list[GenerationRecord]) -> None:
    db = await open_store(home / "olga.db")
    try:
        await db.records.write_batch(records)
    finally:
        await db.close()


def seed_now(home: Path, records: list[GenerationRecord]) -> None:
    """For synchronous tests (the CLI runs its own event loop)."""
    asyncio.run(seed(home, records))

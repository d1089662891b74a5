"""What each client session left in olga's store, read with olga's own CLI, and checked exact: every
record answered, with the tokens the fake provider reported, charged at the catalog's price."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from olga_cli.catalog import load_catalog
from olga_cli.money import pico_to_usd
from olga_cli.providers.usage import Usage

# What the fakes report (tests/fakes): Chat Completions, the Responses API, Messages by default.
CHAT_USAGE = Usage(12, 7)
RESPONSES_USAGE = Usage(20, 5, cached_tokens=8)


def olga(home: Path, *args: str) -> str:
    env = {**os.environ, "OLGA_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "olga_cli", *args], env=env, capture_output=True, check=True)
    return done.stdout.decode()


def read_records(home: Path, key_name: str) -> list[dict[str, Any]]:
    lines = olga(home, "logs", "--key", key_name, "--json", "--limit", "1000").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def balance(home: Path, key_name: str) -> tuple[str, str]:
    data = json.loads(olga(home, "credits", "balance", key_name, "--json"))
    return str(data["credits"]), str(data["spent"])


def expected_usage(record: dict[str, Any], endpoints: tuple[str, ...], anthropic: dict[str, int]) -> Usage:
    if record["provider"] == "anthropic":
        read = anthropic.get("cache_read_input_tokens", 0)
        written = anthropic.get("cache_creation_input_tokens", 0)
        return Usage(
            anthropic.get("input_tokens", 12) + read + written,
            anthropic.get("output_tokens", 7),
            cached_tokens=read,
            cache_write_tokens=written,
        )
    if (
        record["provider"] == "openai"
        and record["endpoint"].endswith("/responses")
        and "responses" in endpoints
    ):
        return RESPONSES_USAGE  # passed through to the Responses API
    return CHAT_USAGE


def check_records(
    home: Path, records: list[dict[str, Any]], *, anthropic_usage: dict[str, int], allow_402: bool = False
) -> dict[str, Any]:
    catalog = load_catalog(home)
    problems: list[str] = []
    for record in records:
        if record["status"] == 402 and allow_402:
            if record["cost"] not in ("0", 0):
                problems.append(f"{record['id']}: a 402 charged {record['cost']}")
            continue
        if record["status"] != 200:
            problems.append(f"{record['id']}: status {record['status']} ({record.get('error')})")
            continue
        # The model as served (a dated name such as gpt-4o-mini-2024-07-18), else as requested.
        entry = catalog.resolve(record["model"]) or catalog.resolve(record["model_requested"])
        if entry is None:
            problems.append(f"{record['id']}: no catalog entry for {record['model']}")
            continue
        usage = expected_usage(record, entry.endpoints, anthropic_usage)
        got = (record["tokens_prompt"], record["tokens_completion"], record["tokens_cached"])
        if (
            got != (usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens)
            or record["usage_estimated"]
        ):
            problems.append(f"{record['id']}: tokens {got}, the provider reported {usage}")
        if record["cost"] != pico_to_usd(entry.cost_pico(usage)):
            problems.append(
                f"{record['id']}: cost {record['cost']}, catalog x usage {pico_to_usd(entry.cost_pico(usage))}"
            )
    return {
        "requests": len(records),
        "records_exact": bool(records) and not problems,
        "problems": problems[:10],
        "cost": str(sum((Decimal(str(r["cost"])) for r in records), Decimal(0))),
        "apps": sorted({str(r.get("app")) for r in records}),
        "sessions": len({r.get("session_id") for r in records if r.get("session_id")}),
        "dropped": sorted({d for r in records for d in r.get("dropped") or []}),
        "endpoints": sorted({r["endpoint"] for r in records}),
    }

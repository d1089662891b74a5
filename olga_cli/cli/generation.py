"""``olga generation ID``: one request's record, explained."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from olga_cli.cli.common import JsonOption, console, env_of, print_json, run, store
from olga_cli.errors import UserError
from olga_cli.store.generations import get_generation


def generation(
    ctx: typer.Context,
    generation_id: str = typer.Argument(..., metavar="ID", help="olga id (gen-...) or the provider's response id."),
    json_out: JsonOption = False,
) -> None:
    """Explain one request: routing, attempts, usage, cost, timings. Example: olga generation gen-0192ab..."""
    env = env_of(ctx)

    async def work() -> dict[str, Any]:
        async with store(env) as db:
            record = await get_generation(db, generation_id)
            if record is None:
                raise UserError(f"no generation '{generation_id}'; ids are in the x-olga-generation-id header and `olga logs`")
            return record.to_json()

    data = run(work())
    if json_out:
        print_json({"data": data})
        return
    table = Table(show_header=False, title=f"generation {data['id']}", title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    for field in ("created_at", "key_name", "app", "endpoint", "model_requested", "model", "provider", "upstream_id",
                  "streamed", "status", "error", "finish_reason", "tokens_prompt", "tokens_completion", "tokens_cached",
                  "usage_estimated", "cost", "latency_ms", "ttft_ms", "overhead_ms", "request_id"):
        value = data.get(field)
        table.add_row(field, escape("-" if value is None else str(value)))
    for index, attempt in enumerate(data["attempts"], start=1):
        table.add_row(f"attempt {index}", escape(
            f"{attempt['provider']}/{attempt['model']} status={attempt['status']} {attempt['latency_ms']:.1f} ms"
            + (f" error={attempt['error']}" if attempt.get("error") else "")))
    for event in data["guardrails"]:
        table.add_row("guardrail", escape(str(event)))
    console().print(table)

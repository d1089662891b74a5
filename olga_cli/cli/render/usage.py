"""``olga usage``: totals, then one row per group with a bar for each of requests, tokens and cost."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from olga_cli.cli.render.text import bar, fmt_compact, fmt_cost, fmt_int, fmt_ms, fmt_time
from olga_cli.money import pico_to_usd
from olga_cli.store.reports import Usage, UsageRow

MAX_BAR = 20


def group_label(usage: Usage, group: str) -> str:
    if usage.by in ("key", "team"):
        if not group:
            return "(no team)" if usage.by == "team" else "-"
        name = usage.names.get(group)
        return f"{name} ({group})" if name else group
    return group or ("(none)" if usage.by == "app" else "-")


def usage_view(usage: Usage, *, width: int = 100, now: float | None = None) -> Group:
    """Totals, then one row per group with a bar for each of requests, tokens and cost.

    The bars share whatever width the numbers leave, so the table fits the terminal.
    """
    totals = usage.totals
    span = "all time" if usage.since is None else f"since {fmt_time(usage.since, now=now)}"
    head = Text.assemble(
        ("usage ", "bold"),
        (f"{span}, by {usage.by}\n", ""),
        (f"{fmt_int(totals.requests)} requests", "bold"),
        (f" ({fmt_int(totals.errors)} errors)  ", "dim"),
        (f"{fmt_int(totals.tokens_prompt)} in / {fmt_int(totals.tokens_completion)} out tokens  ", ""),
        (fmt_cost(totals.cost_pico), "bold green"),
        (
            f"  (prompt caching saved {fmt_cost(totals.cache_saved_pico)})"
            if totals.cache_saved_pico
            else "",
            "green",
        ),
    )
    if not usage.rows:
        return Group(head, Text("no requests in this window", style="dim"))
    labels = [group_label(usage, row.group) for row in usage.rows]
    cells = [
        (
            fmt_int(r.requests),
            f"{fmt_compact(r.tokens_prompt)}/{fmt_compact(r.tokens_completion)}",
            fmt_cost(r.cost_pico),
            fmt_int(r.errors) if r.errors else "-",
            fmt_ms(r.latency_ms_total / r.requests if r.requests else None),
        )
        for r in usage.rows
    ]
    label_width = min(max(len(usage.by), *(len(label) for label in labels)), 32)
    numbers = sum(
        max(len(h), *(len(c[i]) for c in cells))
        for i, h in enumerate(("requests", "tokens in/out", "cost", "errors", "avg latency"))
    )
    bar_width = max(3, min(MAX_BAR, (width - label_width - numbers - 2 * 8) // 3))
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True, show_edge=False)
    table.add_column(usage.by, overflow="fold", max_width=32)
    for header, style in (("requests", "cyan"), ("tokens in/out", "blue"), ("cost", "green")):
        table.add_column(header, justify="right", no_wrap=True)
        table.add_column("", no_wrap=True, style=style, min_width=bar_width)
    table.add_column("errors", justify="right", no_wrap=True)
    table.add_column("avg latency", justify="right", no_wrap=True)
    top_requests = max(r.requests for r in usage.rows)
    top_tokens = max(r.tokens for r in usage.rows)
    top_cost = max(r.cost_pico for r in usage.rows)
    for row, label, (requests, tokens, cost, errors, latency) in zip(usage.rows, labels, cells):
        table.add_row(
            escape(label),
            requests,
            bar(row.requests, top_requests, bar_width),
            tokens,
            bar(row.tokens, top_tokens, bar_width),
            cost,
            bar(row.cost_pico, top_cost, bar_width),
            errors,
            latency,
            style="red" if row.requests and row.errors == row.requests else None,
        )
    return Group(head, table)


def usage_row_json(usage: Usage, row: UsageRow) -> dict[str, Any]:
    data: dict[str, Any] = {usage.by: row.group or None}
    if usage.by in ("key", "team"):
        data["name"] = usage.names.get(row.group)
    data.update(
        {
            "requests": row.requests,
            "errors": row.errors,
            "tokens_prompt": row.tokens_prompt,
            "tokens_completion": row.tokens_completion,
            "tokens_cached": row.tokens_cached,
            "cost": pico_to_usd(row.cost_pico),
            "cache_saved": pico_to_usd(row.cache_saved_pico),
            "avg_latency_ms": round(row.latency_ms_total / row.requests, 3) if row.requests else None,
        }
    )
    return data

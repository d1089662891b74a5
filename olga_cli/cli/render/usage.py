"""``olga usage``: totals, then one row per group with a bar for each of requests, tokens and cost."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.text import Text

from olga_cli.cli.render.table import Cell, Column, Listing, plain, table_of
from olga_cli.cli.render.text import bar, fmt_compact, fmt_cost, fmt_int, fmt_ms, fmt_time
from olga_cli.money import pico_to_usd
from olga_cli.store.reports import ModelSpend, Usage, UsageRow

MAX_BAR = 20


def group_label(usage: Usage, group: str) -> str:
    if usage.by in ("key", "team"):
        if not group:
            return "(no team)" if usage.by == "team" else "-"
        name = usage.names.get(group)
        return f"{name} ({group})" if name else group
    return group or ("(none)" if usage.by == "app" else "-")


def usage_head(usage: Usage, *, now: float | None = None) -> Text:
    """The window and its totals, above the table."""
    totals = usage.totals
    span = "all time" if usage.since is None else f"since {fmt_time(usage.since, now=now)}"
    return Text.assemble(
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


def _name_and_id(usage: Usage, group: str) -> list[Cell]:
    """By key or team: the name, then the id (whole, never folded); else the group alone."""
    if usage.by not in ("key", "team"):
        return [group_label(usage, group)]
    if not group:
        return ["(no team)" if usage.by == "team" else "-", "-"]
    return [usage.names.get(group) or "-", group]


def usage_listing(usage: Usage, *, width: int = 100) -> Listing:
    """One row per group; the bars share whatever width the numbers leave (none when piped or when
    the terminal is too narrow: the numbers say the same)."""
    named = usage.by in ("key", "team")
    columns = [Column(usage.by)] + ([Column("id", "whole")] if named else [])
    labels = [_name_and_id(usage, row.group) for row in usage.rows]
    numbers = [
        [
            fmt_int(r.requests),
            fmt_compact(r.tokens_prompt) + "/" + fmt_compact(r.tokens_completion),
            fmt_cost(r.cost_pico),
            fmt_int(r.errors) if r.errors else "-",
            fmt_ms(r.latency_ms_total / r.requests if r.requests else None),
        ]
        for r in usage.rows
    ]
    headers = ("requests", "tokens in/out", "cost", "errors", "avg latency")
    used = sum(max(len(h), *(len(c[i]) for c in numbers), 0) for i, h in enumerate(headers))
    used += sum(max(len(col.header), *(len(plain(c[i])) for c in labels)) for i, col in enumerate(columns))
    spare = width - used - 2 * (len(columns) + len(headers) + 2)
    bar_width = min(MAX_BAR, spare // 3)
    bars = bar_width >= 4
    for header in headers:
        columns.append(Column(header, "number", drop=1 if header == "avg latency" else 0))
        if bars and header in ("requests", "tokens in/out", "cost"):
            columns.append(Column("", "bar"))
    tops = (
        max((r.requests for r in usage.rows), default=0),
        max((r.tokens for r in usage.rows), default=0),
        max((r.cost_pico for r in usage.rows), default=0),
    )
    rows: list[list[Cell]] = []
    for row, label, (requests, tokens, cost, errors, latency) in zip(usage.rows, labels, numbers):
        cells: list[Cell] = [*label, requests]
        if bars:
            cells.append(Text(bar(row.requests, tops[0], bar_width), style="cyan"))
        cells.append(tokens)
        if bars:
            cells.append(Text(bar(row.tokens, tops[1], bar_width), style="blue"))
        cells.append(cost)
        if bars:
            cells.append(Text(bar(row.cost_pico, tops[2], bar_width), style="green"))
        rows.append(cells + [errors, latency])
    styles = ["red" if r.requests and r.errors == r.requests else None for r in usage.rows]
    return Listing(columns, rows, styles=styles)


def usage_view(usage: Usage, *, width: int = 100, now: float | None = None) -> Group:
    """Totals, then one row per group with a bar for each of requests, tokens and cost."""
    head = usage_head(usage, now=now)
    if not usage.rows:
        return Group(head, Text("no requests in this window", style="dim"))
    return Group(head, table_of(usage_listing(usage, width=width), width))


SPEND_COLUMNS = (
    Column("model", "whole"),
    Column("requests", "number"),
    Column("tokens in", "number", drop=1),
    Column("tokens out", "number", drop=1),
    Column("cost", "number"),
)


def spend_summary(spend: Sequence[ModelSpend], name: str) -> str:
    """``olga run 'NAME': 3 requests, $0.000018``: the line above the table, piped or not."""
    requests = sum(s.requests for s in spend)
    return (
        f"olga run '{name}': {fmt_int(requests)} request{'s' if requests != 1 else ''}, "
        f"{fmt_cost(sum(s.cost_pico for s in spend))}"
    )


def spend_listing(spend: Sequence[ModelSpend]) -> Listing:
    """What an `olga run` cost, per model."""
    rows: list[list[Cell]] = [
        [
            s.model or "-",
            fmt_int(s.requests),
            fmt_int(s.tokens_prompt),
            fmt_int(s.tokens_completion),
            fmt_cost(s.cost_pico),
        ]
        for s in spend
    ]
    return Listing(SPEND_COLUMNS, rows)


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

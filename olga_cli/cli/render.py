"""Pure builders of what the terminal shows: numbers formatted for people, tables, panels, bars.

Nothing here reads the store or prints; commands fetch, call a builder, and print (or ``Live`` swaps
the builder's output in). Text that came from users or models (key names, apps, model names, error
messages) is escaped before Rich sees it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from olga_cli.catalog import ModelEntry
from olga_cli.money import per_mtok_to_pico_per_token, pico_to_display, pico_to_usd
from olga_cli.providers.usage import Usage as TokenUsage
from olga_cli.records import GenerationRecord
from olga_cli.store.limits import AlertRow
from olga_cli.store.reports import Usage, UsageRow

GUARDRAIL_BLOCKED = "guardrail_blocked"
_BLOCKS = " ▏▎▍▌▋▊▉█"


# -- numbers ------------------------------------------------------------------------------------


def fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    minutes, seconds = divmod(int(ms // 1000), 60)
    return f"{minutes}m {seconds:02d}s"


def fmt_int(n: int) -> str:
    return f"{n:,}"


def fmt_compact(n: int) -> str:
    """1234567 -> 1.2M: for bar-chart labels where width matters more than the last digit."""
    for limit, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "k")):
        if abs(n) >= limit:
            return f"{n / limit:.1f}{suffix}"
    return str(n)


def fmt_cost(pico: int) -> str:
    """``$0.000006``; amounts of a dollar or more keep cents and a few more places."""
    return pico_to_display(pico, places=6)


def fmt_time(ts: float, *, now: float | None = None) -> str:
    """Local wall-clock time; the date too when it is not today."""
    day, clock, full = _local_second(int(ts))
    today = _local_second(int(time.time() if now is None else now))[0]
    return clock if day == today else full


@functools.lru_cache(maxsize=64)
def _local_second(second: int) -> tuple[tuple[int, int], str, str]:
    # The access log formats the same second for every request in it: localtime and strftime once.
    local = time.localtime(second)
    return (
        (local.tm_year, local.tm_yday),
        time.strftime("%H:%M:%S", local),
        time.strftime("%Y-%m-%d %H:%M:%S", local),
    )


def bar(value: float, maximum: float, width: int) -> str:
    """A horizontal bar of ``width`` cells at most, in eighths of a cell."""
    if maximum <= 0 or value <= 0 or width <= 0:
        return ""
    eighths = max(1, round(value / maximum * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + (_BLOCKS[part] if part else "")


# -- one record ---------------------------------------------------------------------------------


def is_guardrail_block(record: GenerationRecord) -> bool:
    return record.error == GUARDRAIL_BLOCKED


def row_style(record: GenerationRecord) -> str:
    """Guardrail blocks in magenta, errors in red, clients that left in yellow."""
    if is_guardrail_block(record):
        return "magenta"
    if record.status == 499:
        return "yellow"
    if record.status >= 400 or record.status == 0:
        return "red"
    return ""


def status_text(record: GenerationRecord) -> str:
    # ⚑: a guardrail fired (422 ⚑ is a block); `olga generation ID` says which, where and what it did.
    return f"{record.status} ⚑" if record.guardrails or is_guardrail_block(record) else str(record.status)


def model_text(record: GenerationRecord) -> str:
    return record.model or record.model_requested or "-"


def access_line(record: GenerationRecord, *, method: str = "POST") -> str:
    """The one-line access log of `olga serve` and the plain-text form of `olga logs --follow`."""
    parts = [
        fmt_time(record.created_at),
        method,
        record.endpoint,
        record.key_name,
        model_text(record),
        status_text(record),
        f"{record.tokens_prompt}→{record.tokens_completion} tok",
        fmt_cost(record.cost_pico),
        fmt_ms(record.latency_ms),
    ]
    if record.error and record.status >= 400:
        parts.append(record.error)
    return " ".join(parts)


def alert_text(alert: AlertRow, scope_name: str) -> Text:
    """One line for a usage-limit alert, in yellow (red at 100%), shown by `olga logs`."""

    def amount(value: int) -> str:
        return f"${pico_to_usd(value)}" if alert.metric == "cost" else f"{value:,}"

    line = (
        f"{fmt_time(alert.created_at)} alert: {alert.scope} '{scope_name}' reached {alert.percent}% of its "
        f"{alert.window} {alert.metric} limit ({amount(alert.usage)} of {amount(alert.threshold)})"
    )
    return Text(line, style="bold red" if alert.percent >= 100 else "yellow")


def access_json(record: GenerationRecord, *, method: str = "POST") -> dict[str, Any]:
    return {
        "time": record.to_json()["created_at"],
        "method": method,
        "route": record.endpoint,
        "key": record.key_name,
        "model": model_text(record),
        "provider": record.provider,
        "status": record.status,
        "error": record.error,
        "tokens_prompt": record.tokens_prompt,
        "tokens_completion": record.tokens_completion,
        "cost": pico_to_usd(record.cost_pico),
        "latency_ms": round(record.latency_ms, 3),
        "ttft_ms": None if record.ttft_ms is None else round(record.ttft_ms, 3),
        "generation_id": record.id,
    }


# -- olga logs ----------------------------------------------------------------------------------

LOG_COLUMNS = ("time", "key", "app", "model", "provider", "status", "in", "out", "cost", "latency", "ttft")


def _short_model(record: GenerationRecord) -> str:
    """The model without its provider prefix: the provider has a column of its own."""
    model = model_text(record)
    prefix = f"{record.provider}/" if record.provider else ""
    return model[len(prefix) :] if prefix and model.startswith(prefix) else model


def logs_table(
    records: Sequence[GenerationRecord],
    *,
    wide: bool = False,
    title: str | None = None,
    now: float | None = None,
) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
        show_edge=False,
    )
    columns = LOG_COLUMNS + (("id", "error") if wide else ())
    for column in columns:
        numeric = column in ("status", "in", "out", "cost", "latency", "ttft")
        # Numbers, times and ids never wrap; names fold when the terminal is narrow.
        table.add_column(
            column,
            justify="right" if numeric else "left",
            no_wrap=numeric or column in ("time", "id"),
            overflow="fold",
        )
    for record in records:
        cells = [
            fmt_time(record.created_at, now=now),
            escape(record.key_name),
            escape(record.app or "-"),
            escape(_short_model(record)),
            escape(record.provider or "-"),
            status_text(record),
            fmt_int(record.tokens_prompt) + ("~" if record.usage_estimated else ""),
            fmt_int(record.tokens_completion) + ("~" if record.usage_estimated else ""),
            fmt_cost(record.cost_pico),
            fmt_ms(record.latency_ms),
            fmt_ms(record.ttft_ms),
        ]
        if wide:
            cells += [record.id, escape(record.error or "-")]
        table.add_row(*cells, style=row_style(record) or None)
    return table


# -- olga generation ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CostLine:
    what: str  # "input", "cached input", "cache write", "output"
    tokens: int
    price_per_mtok: Decimal
    pico: Decimal  # before multipliers; exact, may be fractional


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """How a record's cost follows from today's catalog prices and multipliers."""

    model_id: str
    lines: tuple[CostLine, ...]
    model_multiplier: Decimal
    rate_multiplier: Decimal  # the key's, times its team's
    computed_pico: int
    recorded_pico: int

    @property
    def matches(self) -> bool:
        return self.computed_pico == self.recorded_pico

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model_id,
            "lines": [
                {
                    "what": line.what,
                    "tokens": line.tokens,
                    "usd_per_mtok": str(line.price_per_mtok),
                    "cost": _usd_exact(line.pico)[1:],
                }
                for line in self.lines
            ],
            "model_multiplier": str(self.model_multiplier),
            "rate_multiplier": str(self.rate_multiplier),
            "computed_cost": pico_to_usd(self.computed_pico),
            "recorded_cost": pico_to_usd(self.recorded_pico),
            "matches_current_prices": self.matches,
        }


def cost_breakdown(record: GenerationRecord, entry: ModelEntry, rate_multiplier: Decimal) -> CostBreakdown:
    """The record's cost, line by line, from ``entry``'s prices (the same formula the gateway charges)."""
    cached_rate = (
        entry.cached_input_per_mtok if entry.cached_input_per_mtok is not None else entry.input_per_mtok
    )
    write_rate = (
        entry.cache_write_per_mtok if entry.cache_write_per_mtok is not None else entry.input_per_mtok
    )
    usage = TokenUsage(
        record.tokens_prompt, record.tokens_completion, record.tokens_cached, record.tokens_cache_write
    )
    lines = [
        CostLine(
            "input",
            usage.uncached_prompt_tokens,
            entry.input_per_mtok,
            per_mtok_to_pico_per_token(usage.uncached_prompt_tokens * entry.input_per_mtok),
        ),
    ]
    if usage.cached_tokens:
        lines.append(
            CostLine(
                "cached input",
                usage.cached_tokens,
                cached_rate,
                per_mtok_to_pico_per_token(usage.cached_tokens * cached_rate),
            )
        )
    if usage.cache_write_tokens:
        lines.append(
            CostLine(
                "cache write",
                usage.cache_write_tokens,
                write_rate,
                per_mtok_to_pico_per_token(usage.cache_write_tokens * write_rate),
            )
        )
    lines.append(
        CostLine(
            "output",
            usage.completion_tokens,
            entry.output_per_mtok,
            per_mtok_to_pico_per_token(usage.completion_tokens * entry.output_per_mtok),
        )
    )
    return CostBreakdown(
        model_id=entry.id,
        lines=tuple(lines),
        model_multiplier=entry.multiplier,
        rate_multiplier=rate_multiplier,
        computed_pico=entry.cost_pico(usage, rate_multiplier=rate_multiplier),
        recorded_pico=record.cost_pico,
    )


def _kv(rows: Sequence[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    return table


def _heading(text: str) -> Text:
    return Text("\n" + text, style="bold underline")


def _usd_exact(pico: Decimal) -> str:
    return f"${pico_to_usd(int(pico))}" if pico == int(pico) else f"${(pico / 10**12).normalize():f}"


def generation_panel(
    record: GenerationRecord, breakdown: CostBreakdown | None, *, bodies: bool = False
) -> Panel:
    status = f"[{row_style(record) or 'green'}]{status_text(record)}[/]"
    if record.error:
        status += f" [dim]({escape(record.error)})[/dim]"
    request = _kv(
        [
            ("time", f"{fmt_time(record.created_at)}  [dim]{record.to_json()['created_at']}[/dim]"),
            ("key", f"{escape(record.key_name)} [dim]{record.key_id}[/dim]"),
            ("app", escape(record.app or "-")),
            ("request id", escape(record.request_id or "-")),
            (
                "endpoint",
                f"POST {escape(record.endpoint)}" + ("  [dim](streamed)[/dim]" if record.streamed else ""),
            ),
            (
                "model",
                escape(record.model_requested or "-")
                + (
                    f" → {escape(record.model)}"
                    if record.model and record.model != record.model_requested
                    else ""
                ),
            ),
            ("provider", escape(record.provider or "-")),
            ("upstream id", escape(record.upstream_id or "-")),
            ("status", status),
            ("finish", escape(record.finish_reason or "-")),
        ]
    )
    parts: list[RenderableType] = [request]

    attempts = Table(
        box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1), collapse_padding=True
    )
    for column in ("#", "provider", "model", "key", "status", "latency", "error"):
        attempts.add_column(
            column, justify="right" if column in ("#", "status", "latency") else "left", overflow="fold"
        )
    for index, attempt in enumerate(record.attempts, start=1):
        failed = attempt.error is not None or (attempt.status or 0) >= 400
        attempts.add_row(
            str(index),
            escape(attempt.provider),
            escape(attempt.model),
            escape(attempt.key_label or "-"),
            "-" if attempt.status is None else str(attempt.status),
            fmt_ms(attempt.latency_ms),
            escape(attempt.error or "-"),
            style="red" if failed else None,
        )
    parts += [
        _heading("routing attempts"),
        attempts if record.attempts else Text("no upstream attempt (answered by olga itself)", style="dim"),
    ]

    usage_rows = [
        ("prompt", fmt_int(record.tokens_prompt)),
        ("  cached", fmt_int(record.tokens_cached)),
        ("  cache write", fmt_int(record.tokens_cache_write)),
        ("completion", fmt_int(record.tokens_completion)),
        ("total", fmt_int(record.tokens_prompt + record.tokens_completion)),
    ]
    if record.usage_estimated:
        usage_rows.append(("", "[yellow]estimated: the provider reported no usage[/yellow]"))
    for flag in record.flags:  # what olga capped or repaired (a charge capped at the reservation...)
        usage_rows.append(("flag", f"[yellow]{escape(flag)}[/yellow]"))
    parts += [_heading("usage"), _kv(usage_rows)]

    parts.append(_heading("cost"))
    if breakdown is None:
        parts.append(
            _kv(
                [
                    ("recorded", f"${pico_to_usd(record.cost_pico)}"),
                    ("", "[dim]the serving model is no longer in the catalog[/dim]"),
                ]
            )
        )
    else:
        cost = Table(pad_edge=False, box=None)
        for column in ("", "tokens", "USD / Mtok", "cost"):
            cost.add_column(column, justify="left" if not column else "right")
        for line in breakdown.lines:
            cost.add_row(line.what, fmt_int(line.tokens), f"${line.price_per_mtok}", _usd_exact(line.pico))
        cost.add_row("× model multiplier", "", "", str(breakdown.model_multiplier))
        cost.add_row("× rate multiplier", "", "", str(breakdown.rate_multiplier))
        cost.add_row("[bold]= cost[/bold]", "", "", f"[bold]${pico_to_usd(breakdown.recorded_pico)}[/bold]")
        parts.append(cost)
        if not breakdown.matches:
            parts.append(
                Text(
                    f"recorded ${pico_to_usd(breakdown.recorded_pico)}; today's prices and multipliers give "
                    f"${pico_to_usd(breakdown.computed_pico)} (they changed since, or nothing was charged)",
                    style="yellow",
                )
            )

    parts.append(_heading("guardrails"))
    if record.guardrails:
        events = Table(pad_edge=False, box=None)
        known = ("guardrail", "stage", "entity", "action", "position")
        found = {k for event in record.guardrails for k in event}
        names = [k for k in known if k in found] + sorted(found - set(known))
        for name in names:
            events.add_column(name)
        for event in record.guardrails:
            events.add_row(
                *(escape(str(event.get(name, "-"))) for name in names),
                style="magenta" if event.get("action") == "block" else None,
            )
        parts.append(events)
    else:
        parts.append(Text("none fired", style="dim"))

    upstream = max(record.latency_ms - record.overhead_ms, 0.0)
    parts += [
        _heading("timings"),
        _kv(
            [
                ("total", fmt_ms(record.latency_ms)),
                ("first token", fmt_ms(record.ttft_ms)),
                ("upstream", fmt_ms(upstream)),
                ("olga overhead", fmt_ms(record.overhead_ms)),
            ]
        ),
    ]
    if bodies:
        for label, body in (("request body", record.request_body), ("response body", record.response_body)):
            parts += [
                _heading(label),
                Text(body if body is not None else "(not stored)", style="" if body is not None else "dim"),
            ]
    return Panel(Group(*parts), title=f"generation {record.id}", title_align="left", expand=False)


# -- olga usage ---------------------------------------------------------------------------------

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
            "avg_latency_ms": round(row.latency_ms_total / row.requests, 3) if row.requests else None,
        }
    )
    return data

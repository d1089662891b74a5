"""``olga generation ID``: one request explained (routing attempts, usage, cost, guardrails, timings)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rich import box
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from olga_cli.catalog import CostBreakdown, exact_usd
from olga_cli.cli.render.records import row_style, status_text
from olga_cli.cli.render.text import fmt_int, fmt_ms, fmt_time
from olga_cli.money import pico_to_usd
from olga_cli.records import GenerationRecord


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
    return f"${exact_usd(pico)}"


@dataclass(frozen=True, slots=True)
class TimeSplit:
    upstream_ms: float  # waiting on providers, every attempt
    backoff_ms: float  # waiting between attempts (retry backoff, retry-after)
    olga_ms: float  # olga's own work: the rest


def time_split(record: GenerationRecord) -> TimeSplit:
    """The record's time in three: providers, the waits between attempts, and olga itself. An attempt
    records when it began (from the request's arrival): the gap after the previous one ended is
    backoff, which the record's overhead also counts."""
    upstream = sum(attempt.latency_ms for attempt in record.attempts)
    backoff = 0.0
    previous_end: float | None = None
    for attempt in record.attempts:
        if attempt.started_ms is not None:
            if previous_end is not None:
                backoff += max(attempt.started_ms - previous_end, 0.0)
            previous_end = attempt.started_ms + attempt.latency_ms
    olga = max(record.overhead_ms - backoff, 0.0)
    return TimeSplit(upstream_ms=upstream, backoff_ms=backoff, olga_ms=olga)


def pretty_body(body: str) -> str:
    """A stored body as indented JSON when it is JSON (as stored otherwise: a stream's events)."""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body


def generation_panel(record: GenerationRecord, breakdown: CostBreakdown | None) -> Panel:
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
            "no answer" if attempt.status is None else str(attempt.status),
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
        if record.cache_saved_pico:
            saved = pico_to_usd(record.cache_saved_pico)
            cost.add_row("saved by prompt caching", "", "", f"[green]${saved}[/green]")
        parts.append(cost)
        if breakdown.catalog_version:
            parts.append(Text(f"prices of catalog {breakdown.catalog_version}", style="dim"))
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

    split = time_split(record)
    parts += [
        _heading("timings"),
        _kv(
            [
                ("total", fmt_ms(record.latency_ms)),
                ("first token", fmt_ms(record.ttft_ms)),
                ("upstream", fmt_ms(split.upstream_ms) + f" [dim]({len(record.attempts)} attempt(s))[/dim]"),
                ("retry backoff", fmt_ms(split.backoff_ms)),
                ("olga", fmt_ms(split.olga_ms)),
            ]
        ),
    ]
    return Panel(Group(*parts), title=f"generation {record.id}", title_align="left", expand=False)


def body_sections(record: GenerationRecord) -> list[RenderableType]:
    """The stored bodies, pretty-printed, to print after the panel (whole lines, not wrapped by it)."""
    parts: list[RenderableType] = []
    for label, body in (("request body", record.request_body), ("response body", record.response_body)):
        parts.append(_heading(label))
        parts.append(Text(pretty_body(body)) if body is not None else Text("(not stored)", style="dim"))
    return parts

"""``olga generation ID``: one request explained (routing attempts, usage, cost, guardrails, timings)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from olga_cli.catalog import CostBreakdown, exact_usd
from olga_cli.cli.render.records import row_style, status_text
from olga_cli.cli.render.table import Cell, Column, Listing, fields_listing, table_of
from olga_cli.cli.render.text import fmt_int, fmt_ms, fmt_time
from olga_cli.money import pico_to_usd
from olga_cli.records import GenerationRecord


def _kv(rows: Sequence[tuple[str, str]], width: int) -> RenderableType:
    """Labels and values; values are markup written here (user text in them is escaped)."""
    return table_of(fields_listing([(label, Text.from_markup(value)) for label, value in rows]), width)


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


ATTEMPT_COLUMNS = (
    Column("#", "number"),
    Column("provider", "whole"),
    Column("model", "whole"),
    Column("key", drop=2),
    Column("status", "whole"),
    Column("latency", "number", drop=1),
    Column("error"),
)


def attempts_listing(record: GenerationRecord) -> Listing:
    rows: list[list[Cell]] = []
    styles: list[str | None] = []
    for index, attempt in enumerate(record.attempts, start=1):
        failed = attempt.error is not None or (attempt.status or 0) >= 400
        rows.append(
            [
                str(index),
                attempt.provider,
                attempt.model,
                attempt.key_label or "-",
                "no answer" if attempt.status is None else str(attempt.status),
                fmt_ms(attempt.latency_ms),
                attempt.error or "-",
            ]
        )
        styles.append("red" if failed else None)
    return Listing(ATTEMPT_COLUMNS, rows, styles=styles)


COST_COLUMNS = (
    Column(""),
    Column("tokens", "number"),
    Column("USD / Mtok", "number"),
    Column("cost", "number"),
)


def cost_listing(record: GenerationRecord, breakdown: CostBreakdown) -> Listing:
    rows: list[list[Cell]] = [
        [line.what, fmt_int(line.tokens), f"${line.price_per_mtok}", _usd_exact(line.pico)]
        for line in breakdown.lines
    ]
    rows.append(["× model multiplier", "", "", str(breakdown.model_multiplier)])
    rows.append(["× rate multiplier", "", "", str(breakdown.rate_multiplier)])
    total = f"${pico_to_usd(breakdown.recorded_pico)}"
    rows.append([Text("= cost", style="bold"), "", "", Text(total, style="bold")])
    if record.cache_saved_pico:
        saved = f"${pico_to_usd(record.cache_saved_pico)}"
        rows.append(["saved by prompt caching", "", "", Text(saved, style="green")])
    return Listing(COST_COLUMNS, rows)


def guardrail_events_listing(record: GenerationRecord) -> Listing:
    known = ("guardrail", "stage", "entity", "action", "position")
    found = {k for event in record.guardrails for k in event}
    names = [k for k in known if k in found] + sorted(found - set(known))
    rows: list[list[Cell]] = [[str(event.get(name, "-")) for name in names] for event in record.guardrails]
    styles = ["magenta" if event.get("action") == "block" else None for event in record.guardrails]
    return Listing([Column(name, "whole") for name in names], rows, styles=styles)


def generation_panel(record: GenerationRecord, breakdown: CostBreakdown | None, *, width: int = 100) -> Panel:
    """The record explained, in a box titled with its id (on a terminal)."""
    return Panel(
        generation_view(record, breakdown, width=width - 4),
        title=f"generation {record.id}",
        title_align="left",
        expand=False,
    )


def _request_fields(record: GenerationRecord) -> list[tuple[str, str]]:
    status = f"[{row_style(record) or 'green'}]{status_text(record)}[/]"
    if record.error:
        status += f" [dim]({escape(record.error)})[/dim]"
    served = record.model and record.model != record.model_requested
    return [
        ("id", record.id),
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
            escape(record.model_requested or "-") + (f" → {escape(record.model or '')}" if served else ""),
        ),
        ("provider", escape(record.provider or "-")),
        ("upstream id", escape(record.upstream_id or "-")),
        ("status", status),
        ("finish", escape(record.finish_reason or "-")),
    ]


def _usage_fields(record: GenerationRecord) -> list[tuple[str, str]]:
    rows = [
        ("prompt", fmt_int(record.tokens_prompt)),
        ("  cached", fmt_int(record.tokens_cached)),
        ("  cache write", fmt_int(record.tokens_cache_write)),
        ("completion", fmt_int(record.tokens_completion)),
        ("total", fmt_int(record.tokens_prompt + record.tokens_completion)),
    ]
    if record.usage_estimated:
        rows.append(("", "[yellow]estimated: the provider reported no usage[/yellow]"))
    for flag in record.flags:  # what olga capped or repaired (a charge capped at the reservation...)
        rows.append(("flag", f"[yellow]{escape(flag)}[/yellow]"))
    return rows


def _cost_parts(
    record: GenerationRecord, breakdown: CostBreakdown | None, width: int
) -> list[RenderableType]:
    if breakdown is None:
        recorded = [
            ("recorded", f"${pico_to_usd(record.cost_pico)}"),
            ("", "[dim]the serving model is no longer in the catalog[/dim]"),
        ]
        return [_kv(recorded, width)]
    parts: list[RenderableType] = [table_of(cost_listing(record, breakdown), width)]
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
    return parts


def _timing_fields(record: GenerationRecord) -> list[tuple[str, str]]:
    split = time_split(record)
    return [
        ("total", fmt_ms(record.latency_ms)),
        ("first token", fmt_ms(record.ttft_ms)),
        ("upstream", fmt_ms(split.upstream_ms) + f" [dim]({len(record.attempts)} attempt(s))[/dim]"),
        ("retry backoff", fmt_ms(split.backoff_ms)),
        ("olga", fmt_ms(split.olga_ms)),
    ]


def generation_view(record: GenerationRecord, breakdown: CostBreakdown | None, *, width: int = 100) -> Group:
    """The request, its routing attempts, usage, cost, guardrails and timings, one section each."""
    attempts: RenderableType = (
        table_of(attempts_listing(record), width)
        if record.attempts
        else Text("no upstream attempt (answered by olga itself)", style="dim")
    )
    guardrails: RenderableType = (
        table_of(guardrail_events_listing(record), width)
        if record.guardrails
        else Text("none fired", style="dim")
    )
    return Group(
        _kv(_request_fields(record), width),
        _heading("routing attempts"),
        attempts,
        _heading("usage"),
        _kv(_usage_fields(record), width),
        _heading("cost"),
        *_cost_parts(record, breakdown, width),
        _heading("guardrails"),
        guardrails,
        _heading("timings"),
        _kv(_timing_fields(record), width),
    )


def body_sections(record: GenerationRecord) -> list[RenderableType]:
    """The stored bodies, pretty-printed, to print after the panel (whole lines, not wrapped by it)."""
    parts: list[RenderableType] = []
    for label, body in (("request body", record.request_body), ("response body", record.response_body)):
        parts.append(_heading(label))
        parts.append(Text(pretty_body(body)) if body is not None else Text("(not stored)", style="dim"))
    return parts

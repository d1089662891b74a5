"""Requests drawn for people: the access line of ``olga serve``, the rows of ``olga logs``, alerts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text

from olga_cli.cli.render.table import Cell, Column, Listing
from olga_cli.cli.render.text import fmt_cost, fmt_int, fmt_ms, fmt_time
from olga_cli.money import pico_to_usd
from olga_cli.records import GenerationRecord
from olga_cli.store.limits import AlertRow

GUARDRAIL_BLOCKED = "guardrail_blocked"


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

# On a narrow terminal the columns of least value go first: ttft, app, provider (the model names it),
# latency, then tokens; the error code of a failed row stays as long as anything can.
LOG_COLUMNS = (
    Column("time", "whole"),
    Column("key"),
    Column("model", "whole"),
    Column("status", "whole"),
    Column("tokens", "number", drop=2),
    Column("cost", "number"),
    Column("latency", "number", drop=3),
    Column("error", "whole", drop=1),
    Column("ttft", "number", drop=6),
    Column("app", drop=5),
    Column("provider", drop=4),
)
LOG_WIDE_COLUMNS = (Column("id", "whole"),)


def log_cells(
    record: GenerationRecord, *, wide: bool = False, short_ids: bool = False, now: float | None = None
) -> list[Cell]:
    estimated = "~" if record.usage_estimated else ""
    failed = record.status >= 400 or record.status == 0
    cells: list[Cell] = [
        fmt_time(record.created_at, now=now),
        record.key_name,
        model_text(record),
        status_text(record),
        f"{fmt_int(record.tokens_prompt)}{estimated}→{fmt_int(record.tokens_completion)}{estimated}",
        fmt_cost(record.cost_pico),
        fmt_ms(record.latency_ms),
        (record.error or "") if failed else "",
        fmt_ms(record.ttft_ms),
        record.app or "-",
        record.provider or "-",
    ]
    if not wide:
        return cells
    return cells + [short_id(record.id) if short_ids else record.id]


def logs_listing(
    records: Sequence[GenerationRecord],
    *,
    wide: bool = False,
    short_ids: bool = False,
    title: str | None = None,
    now: float | None = None,
) -> Listing:
    """``short_ids``: on a terminal, the short id `olga generation` takes back; piped, the whole id."""
    return Listing(
        columns=LOG_COLUMNS + (LOG_WIDE_COLUMNS if wide else ()),
        rows=[log_cells(r, wide=wide, short_ids=short_ids, now=now) for r in records],
        styles=[row_style(r) or None for r in records],
        title=title,
    )


# -- olga logs --follow: one line per request, appended -----------------------------------------

STATUS_COLOURS = {2: "green", 3: "cyan", 4: "yellow", 5: "red"}


def status_colour(record: GenerationRecord) -> str:
    """Coloured by class, as a tail should be: 2xx green, 4xx yellow, 5xx red; blocks magenta."""
    if is_guardrail_block(record):
        return "magenta"
    return STATUS_COLOURS.get(record.status // 100, "red")


def short_id(generation_id: str) -> str:
    """``gen-019af2b3c4d5e6f7...`` -> ``019af2b3c4d5e6f7``: the time part and a little of the random
    part, which `olga generation` takes back (a unique start of an id)."""
    return generation_id.removeprefix("gen-")[:16]


FOLLOW_INDENT = " " * 10  # continuation lines start under the status


def follow_line(record: GenerationRecord, *, now: float | None = None, width: int | None = None) -> Text:
    """``12:03:04  402  insufficient_credits  laptop  mock/echo  12→7 tok  $0  412 ms  019af2b3c4d5e6f7``:
    the error code right after the status of a failed request. On a narrow terminal the tokens go
    first, then the latency; a line still too long goes on under the status, field by field, so the
    id, cost and error code are always whole, to copy."""
    estimated = "~" if record.usage_estimated else ""
    failed = bool(record.error) and (record.status >= 400 or record.status == 0)
    # (text, style, drop): the highest drop goes first when the line is longer than the terminal.
    fields: list[tuple[str, str, int]] = [
        (fmt_time(record.created_at, now=now), "dim", 0),
        (f"{status_text(record):<5}", f"bold {status_colour(record)}", 0),
    ]
    if failed:
        fields.append((record.error or "", status_colour(record), 0))
    fields += [
        (record.key_name, "", 0),
        (model_text(record), "cyan", 0),
        (f"{record.tokens_prompt}{estimated}→{record.tokens_completion}{estimated} tok", "", 2),
        (fmt_cost(record.cost_pico), "", 0),
        (fmt_ms(record.latency_ms), "", 1),
        (short_id(record.id), "dim", 0),
    ]

    def length(kept: list[tuple[str, str, int]]) -> int:
        return sum(len(text) for text, _, _ in kept) + 2 * (len(kept) - 1)

    for drop in (2, 1):
        if width is not None and length(fields) > width:
            fields = [field for field in fields if field[2] != drop]
    line = Text()
    used = 0
    for index, (text, style, _) in enumerate(fields):
        if index and width is not None and used + 2 + len(text) > width:
            line.append("\n" + FOLLOW_INDENT)
            used = len(FOLLOW_INDENT)
        elif index:
            line.append("  ")
            used += 2
        line.append(text, style=style)
        used += len(text)
    return line

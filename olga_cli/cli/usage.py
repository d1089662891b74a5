"""``olga usage``: requests, tokens and cost over a window, broken down and drawn as bars."""

from __future__ import annotations

import csv
import sys
import time
from typing import Annotated, Any

import typer

from olga_cli.cli.common import JsonOption, console, env_of, fail, print_json, run, store
from olga_cli.cli.lookups import parse_duration
from olga_cli.cli.render.table import emit
from olga_cli.cli.render.usage import usage_listing, usage_row_json, usage_view
from olga_cli.store import reports


def _iso(ts: float | None) -> str | None:
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def usage_json(report: reports.Usage) -> dict[str, Any]:
    totals = usage_row_json(report, report.totals)
    totals.pop(report.by, None)
    totals.pop("name", None)
    return {
        "since": _iso(report.since),
        "until": _iso(report.until),
        "by": report.by,
        "totals": totals,
        "rows": [usage_row_json(report, row) for row in report.rows],
    }


def write_csv(report: reports.Usage) -> None:
    rows = [usage_row_json(report, row) for row in report.rows]
    columns = (
        [report.by]
        + (["name"] if report.by in ("key", "team") else [])
        + [
            "requests",
            "errors",
            "tokens_prompt",
            "tokens_completion",
            "tokens_cached",
            "cost",
            "cache_saved",
            "avg_latency_ms",
        ]
    )
    writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})


def usage(
    ctx: typer.Context,
    since: Annotated[
        str, typer.Option("--since", help="Window: 24h, 7d, 30d (any duration), or 'all'.")
    ] = "24h",
    by: Annotated[
        str,
        typer.Option(
            "--by",
            help="Break down by key, team, model, provider, app, day (UTC), tag, user (end user) or "
            "session (agent session).",
        ),
    ] = "model",
    json_out: JsonOption = False,
    csv_out: Annotated[
        bool, typer.Option("--csv", help="CSV for spreadsheets (money in exact USD).")
    ] = False,
) -> None:
    """Requests, tokens and cost over a window, with a bar chart per group.

    On a narrow terminal the bars go first, then the avg latency column; amounts are never cut.
    Piped, the rows are tab-separated lines under a header (no bars); --csv has exact token counts.

    Examples: olga usage --since 7d --by key ; olga usage --since 30d --by day --csv > usage.csv ;
    olga usage --by app (Claude Code, Codex, ...) ; olga usage --by session
    """
    if by not in reports.GROUPS:
        raise fail(f"--by takes one of {', '.join(reports.GROUPS)}; not {by!r}")
    if json_out and csv_out:
        raise fail("choose one of --json and --csv")
    env = env_of(ctx)

    async def work() -> reports.Usage:
        now = time.time()
        start = None if since.strip().lower() == "all" else now - parse_duration(since, flag="--since")
        async with store(env) as db:
            return await db.reports.usage(since=start, until=now, by=by)  # type: ignore[arg-type]

    report = run(work())
    if json_out:
        print_json(usage_json(report))
    elif csv_out:
        write_csv(report)
    else:
        out = console()
        if not out.is_terminal:
            emit(out, usage_listing(report))  # the rows as tab-separated lines, without bars
            return
        out.print(usage_view(report, width=out.width))
        if by == "tag":
            out.print(
                "[dim]A request with several tags counts under each; requests without a tag are not shown.[/dim]"
            )
        elif by == "user":
            out.print("[dim]Requests that named no end user are not shown.[/dim]")
        elif by == "session":
            out.print(
                "[dim]Requests of no agent session are not shown; see one with olga logs --session ID.[/dim]"
            )

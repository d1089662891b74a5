"""``olga logs``: recent requests as a table, live with ``--follow``; ``olga logs prune`` for retention.

``--follow`` polls the store by rowid, whichever process (an ``olga serve`` in another terminal, or
none yet) writes the records: each poll reads only what was committed since the last one.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from olga_cli.catalog import load_catalog
from olga_cli.cli.common import (
    JsonOption,
    console,
    env_of,
    fail,
    print_json,
    run,
    store,
)
from olga_cli.cli.logs_follow import follow_requests, print_alerts
from olga_cli.cli.lookups import parse_duration
from olga_cli.cli.names import key_names, model_names
from olga_cli.cli.render.records import logs_listing
from olga_cli.cli.render.table import emit
from olga_cli.errors import CatalogError, UserError
from olga_cli.records import GenerationRecord
from olga_cli.store import reports
from olga_cli.store.base import Store

FOLLOW_INTERVAL = 0.25  # seconds between polls: a new record shows well within a second
FOLLOW_BATCH = 1000

# No help= here: the callback's docstring (with its examples) is the help of `olga logs`.
app = typer.Typer(invoke_without_command=True, no_args_is_help=False)

LimitOpt = Annotated[int, typer.Option("--limit", "-n", help="How many of the newest records to show.")]
KeyOpt = Annotated[
    str | None, typer.Option("--key", help="Only this key (name or id).", autocompletion=key_names)
]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", help="Only this model, as requested or as served.", autocompletion=model_names),
]
StatusOpt = Annotated[
    str | None,
    typer.Option("--status", help="Only this HTTP status: a code (429), a class (4xx, 5xx) or 'error'."),
]
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="Only records newer than this, e.g. 90m, 24h, 7d.")
]


def parse_status(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    value = text.strip().lower()
    if value in ("error", "errors"):
        return (400, 599)
    if len(value) == 3 and value.endswith("xx") and value[0] in "12345":
        low = int(value[0]) * 100
        return (low, low + 99)
    if value.isdigit() and 100 <= int(value) <= 599:
        return (int(value), int(value))
    raise UserError(f"--status takes a code such as 429, a class such as 5xx, or 'error'; not {text!r}")


async def resolve_filters(
    db: Store,
    *,
    key: str | None,
    models: tuple[str, ...],
    status: str | None,
    since: str | None,
    now: float,
    tag: str | None = None,
    user: str | None = None,
    session: str | None = None,
) -> reports.LogFilter:
    key_id = None
    if key is not None:
        key_id = await db.keys.find_key_id(key)
        if key_id is None:
            raise UserError(f"no key named or with id '{key}'; see `olga keys list`")
    return reports.LogFilter(
        key_id=key_id,
        models=models,
        status=parse_status(status),
        since=None if since is None else now - parse_duration(since, flag="--since"),
        tag=tag,
        end_user=user,
        session_id=session,
    )


@app.callback()
def logs(
    ctx: typer.Context,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep showing new requests until Ctrl-C.")
    ] = False,
    limit: LimitOpt = 50,
    key: KeyOpt = None,
    model: ModelOpt = None,
    status: StatusOpt = None,
    since: SinceOpt = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only requests with this tag.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only requests of this end user.")] = None,
    session: Annotated[
        str | None,
        typer.Option("--session", help="Only requests of this agent session (the record's session_id)."),
    ] = None,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide", "-w", help="Also show each generation id (short on a terminal, whole when piped)."
        ),
    ] = False,
    json_out: Annotated[
        bool,
        typer.Option("--json", help="A JSON array of records; with --follow, one JSON object per line."),
    ] = False,
) -> None:
    """Recent requests, newest last: what happened, what it cost, what failed and why.

    Errors show in red, guardrail blocks in magenta. On a narrow terminal the ttft, app, provider,
    latency and tokens columns go first, then the error code (see it with --json); piped, every column is printed,
    tab-separated under a header. --follow streams one line per new request (with --since, the
    requests of that window first). `olga logs prune` removes old records.

    Examples: olga logs --limit 20 --status 5xx ; olga logs --follow --since 10m --key laptop ;
    olga logs --session SESSION_ID (a Claude Code or Codex session: `olga usage --by session` lists them)
    """
    if ctx.invoked_subcommand is not None:
        return
    if limit <= 0:
        raise fail("--limit must be a positive whole number")
    env = env_of(ctx)
    models = _catalog_names(env.home, model)

    async def work() -> None:
        async with store(env) as db:
            now = time.time()
            filters = await resolve_filters(
                db,
                key=key,
                models=models,
                status=status,
                since=since,
                now=now,
                tag=tag,
                user=user,
                session=session,
            )
            if follow:
                # The backlog only when asked for (--since), as `stripe logs tail` does.
                await follow_requests(
                    db,
                    filters,
                    config=env.config(),
                    backlog=since is not None,
                    limit=limit,
                    json_out=json_out,
                )
                return
            rows = await db.reports.latest(filters, limit=limit)
            _print_page([r for _, r in rows], json_out=json_out, wide=wide)
            if rows and not json_out:
                # Usage-limit alerts raised while these requests ran, after the table.
                await print_alerts(db, since=rows[0][1].created_at)

    try:
        run(work())
    except KeyboardInterrupt:
        # Ctrl-C is how --follow is meant to end: not an error.
        raise typer.Exit(0) from None


def _catalog_names(home: Path, model: str | None) -> tuple[str, ...]:
    """The name as typed plus the catalog id it resolves to (gpt-4o-mini -> openai/gpt-4o-mini)."""
    if model is None:
        return ()
    names = {model}
    try:
        entry = load_catalog(home).resolve(model)
    except CatalogError:
        entry = None
    if entry is not None:
        names.add(entry.id)
    return tuple(sorted(names))


def _print_page(records: list[GenerationRecord], *, json_out: bool, wide: bool) -> None:
    if json_out:
        print_json([record.to_json() for record in records])  # a list: one JSON array
        return
    out = console()
    if not records:
        out.print("No requests recorded yet (or none match). Send one through `olga serve`.")
        return
    title = f"last {len(records)} requests"
    emit(out, logs_listing(records, wide=wide, short_ids=out.is_terminal, title=title))


@app.command("prune")
def prune(
    ctx: typer.Context,
    older_than: Annotated[str, typer.Option("--older-than", help="Age of the records to remove, e.g. 30d.")],
    bodies_only: Annotated[
        bool,
        typer.Option("--bodies-only", help="Keep the records, drop only their request and response bodies."),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would be removed.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Remove old records (or just their bodies). Balances, the ledger and `olga usage` totals stay.

    Example: olga logs prune --older-than 30d --bodies-only
    """
    env = env_of(ctx)

    async def work() -> tuple[int, float]:
        before = time.time() - parse_duration(older_than, flag="--older-than")
        async with store(env) as db:
            if dry_run:
                return await db.reports.count_before(before), before
            return await db.reports.prune(before=before, bodies_only=bodies_only), before

    count, before = run(work())
    what = "records" if not bodies_only else "records' bodies"
    if json_out:
        print_json(
            {
                "pruned": 0 if dry_run else count,
                "would_prune": count if dry_run else None,
                "bodies_only": bodies_only,
                "before": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(before)),
            }
        )
    elif dry_run:
        console().print(f"{count:,} records are older than {older_than}; nothing removed (--dry-run).")
    else:
        console().print(
            f"Removed {count:,} {what} older than {older_than}. The ledger and usage totals are unchanged."
        )

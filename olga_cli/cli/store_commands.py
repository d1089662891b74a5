"""`olga store migrate --to URL`: a SQLite store copied into PostgreSQL for team mode, verified."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from olga_cli.cli.common import JsonOption, console, env_of, fail, print_json, run
from olga_cli.errors import UserError
from olga_cli.locations import resolve_database_url
from olga_cli.money import pico_to_usd

app = typer.Typer(
    help="The store itself: move a SQLite store into team mode's PostgreSQL.", no_args_is_help=True
)


@app.command("migrate")
def migrate(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="The PostgreSQL store to copy into (postgresql://...).")],
    source: Annotated[
        Path | None, typer.Option("--from", help="The SQLite file to copy (default: the home's olga.db).")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Copy keys, teams, credits, ledger, records, limits and guardrails into an empty PostgreSQL store,
    verified by row counts and every key's balance. Example: olga store migrate --to postgresql://db/olga"""
    env = env_of(ctx)
    try:
        url = resolve_database_url(to, {})
    except UserError as exc:
        raise fail(exc.message.replace("--database-url (or OLGA_DATABASE_URL)", "--to")) from None
    assert url is not None
    path = source or env.home / "olga.db"
    if not path.exists():
        raise fail(f"there is no store at {path} to copy; check --home or --from")
    try:
        from olga_cli.store.migrate import migrate_store
    except ImportError:
        raise fail("olga store migrate needs the PostgreSQL driver: pip install 'olga[team]'") from None
    copied = run(migrate_store(path, url))
    data: dict[str, Any] = {
        "from": str(path),
        "rows": copied.counts,
        "keys": copied.keys,
        "credits": pico_to_usd(copied.credits),
        "spent": pico_to_usd(copied.spent),
        "verified": True,
    }
    if json_out:
        print_json(data)
        return
    out = console()
    rows = ", ".join(f"{count} {table}" for table, count in copied.counts.items() if count)
    out.print(f"Copied {path} into PostgreSQL: {rows or 'an empty store'}.")
    out.print(
        f"Verified: every table's row count, and the balances of {copied.keys} keys "
        f"(credits ${data['credits']}, spent ${data['spent']}). Point olga at it with OLGA_DATABASE_URL."
    )

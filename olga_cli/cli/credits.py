"""``olga credits``: top up a key, see its balance and its history."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.markup import escape

from olga_cli.cli.common import JsonOption, console, env_of, print_json, run, store
from olga_cli.cli.lookups import find_key, parse_usd
from olga_cli.cli.names import KeyArg
from olga_cli.cli.render.lists import credit_history_listing
from olga_cli.cli.render.table import emit
from olga_cli.money import pico_to_usd

app = typer.Typer(help="Prepaid credits on keys: top up, balance, history.", no_args_is_help=True)


@app.command("topup", context_settings={"ignore_unknown_options": True})  # so -3 is an amount
def topup(
    ctx: typer.Context,
    key: KeyArg,
    usd: str,
    note: Annotated[str | None, typer.Option("--note", help="Why, for the history.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Add USD to a key's credits. Example: olga credits topup laptop 5 --note "November" """
    env = env_of(ctx)
    amount = parse_usd(usd, flag="a top-up")

    async def work() -> dict[str, Any]:
        async with store(env) as db:
            row = await find_key(db, key)
            await db.ledger.add_credits(row.id, amount, note)
            credits, spent = await db.ledger.key_totals(row.id)
            return {
                "key_id": row.id,
                "key_name": row.name,
                "added": pico_to_usd(amount),
                "credits": pico_to_usd(credits),
                "balance": pico_to_usd(credits - spent),
            }

    data = run(work())
    if json_out:
        print_json(data)
    else:
        console().print(
            f"Added ${data['added']} to '{escape(data['key_name'])}': balance ${data['balance']}."
        )


@app.command("balance")
def balance(ctx: typer.Context, key: KeyArg, json_out: JsonOption = False) -> None:
    """A key's credits, spend and balance. Example: olga credits balance laptop --json"""
    env = env_of(ctx)

    async def work() -> dict[str, Any]:
        async with store(env) as db:
            row = await find_key(db, key)
            credits, spent = await db.ledger.key_totals(row.id)
            capped = row.credits_enabled
            return {
                "key_id": row.id,
                "key_name": row.name,
                "credits": pico_to_usd(credits) if capped else None,
                "spent": pico_to_usd(spent),
                "balance": pico_to_usd(credits - spent) if capped else None,
            }

    data = run(work())
    if json_out:
        print_json(data)
    elif data["balance"] is None:
        console().print(
            f"'{escape(data['key_name'])}' has no credits: it is metered (spent ${data['spent']}) but not capped."
        )
    else:
        console().print(
            f"'{escape(data['key_name'])}': balance ${data['balance']} (credits ${data['credits']}, spent ${data['spent']})."
        )


@app.command("history")
def history(ctx: typer.Context, key: KeyArg, json_out: JsonOption = False) -> None:
    """Every top-up of a key, and what it has spent (piped: tab-separated lines under a header).

    Example: olga credits history laptop
    """
    env = env_of(ctx)

    async def work() -> dict[str, Any]:
        async with store(env) as db:
            row = await find_key(db, key)
            entries = await db.ledger.credit_history(row.id)
            count, spent = await db.ledger.charge_summary(row.id)
            return {
                "key_id": row.id,
                "key_name": row.name,
                "topups": [
                    {
                        "amount": pico_to_usd(e.amount_pico),
                        "note": e.note,
                        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(e.created_at)),
                    }
                    for e in entries
                ],
                "charged_requests": count,
                "spent": pico_to_usd(spent),
            }

    data = run(work())
    if json_out:
        print_json(data)
        return
    emit(console(), credit_history_listing(data))

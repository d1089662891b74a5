"""``olga keys``: mint, list, show, change, disable, enable and delete olga keys."""

from __future__ import annotations

import sys
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from olga_cli.cli.common import JsonOption, console, env_of, escape, fail, print_json, run, store
from olga_cli.cli.lookups import (
    check_name,
    find_key,
    find_team_id,
    parse_credits,
    parse_duration,
    parse_models,
    parse_multiplier,
    positive,
)
from olga_cli.cli.names import KeyArg
from olga_cli.cli.render.limits import report_listings
from olga_cli.cli.render.lists import keys_listing
from olga_cli.cli.render.table import emit, emit_all, fields_listing
from olga_cli.errors import UserError
from olga_cli.money import pico_to_usd

if TYPE_CHECKING:
    from olga_cli.store.base import Store
    from olga_cli.store.keys import KeyRow, TeamRow
    from olga_cli.store.limits import Scope

app = typer.Typer(help="Mint and manage olga keys (sk-olga-...).", no_args_is_help=True)

NameOpt = Annotated[str | None, typer.Option("--name", help="A unique name for the key.")]
UserOpt = Annotated[str | None, typer.Option("--user", help="Who the key is for (free text, e.g. an email).")]
TeamOpt = Annotated[str | None, typer.Option("--team", help="Team name or id the key belongs to.")]
CreditsOpt = Annotated[str | None, typer.Option("--credits", help="Prepaid credits in USD, e.g. 5 or 0.50.")]
RpmOpt = Annotated[int | None, typer.Option("--rpm", help="Requests per minute.")]
TpmOpt = Annotated[int | None, typer.Option("--tpm", help="Tokens per minute.")]
ModelsOpt = Annotated[str | None, typer.Option("--models", help="Allowed models, comma-separated.")]
MultOpt = Annotated[str | None, typer.Option("--rate-multiplier", help="Multiplies every cost, e.g. 1.2.")]
ExpiresOpt = Annotated[str | None, typer.Option("--expires-in", help="Lifetime such as 12h, 30d or 2w.")]
ZdrOpt = Annotated[bool, typer.Option("--zdr", help="Zero data retention: never store bodies.")]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only the key (as when stdout is not a terminal).")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


async def key_json(db: Store, row: KeyRow) -> dict[str, Any]:
    # Imported here: the windows and limits it reads are not needed to start `olga keys`.
    from olga_cli.gateway.admission.limit_views import stored_report

    team = await db.keys.get_team(row.team_id) if row.team_id else None
    # Usage in each current window, every limit of the key and its team with usage and reset, alerts.
    report = await stored_report(db, _scopes(row, team), time.time())
    return _key_view(row, team, await db.ledger.key_totals(row.id), report)


async def keys_json(db: Store) -> list[dict[str, Any]]:
    """``key_json`` of every live key, read in a few statements whatever their number."""
    from olga_cli.gateway.admission.limit_views import stored_reports

    rows = await db.keys.list_keys()
    teams = {team.id: team for team in await db.keys.list_teams()}
    owners = [teams.get(row.team_id) if row.team_id else None for row in rows]
    totals = await db.ledger.all_key_totals()
    reports = await stored_reports(db, [_scopes(row, team) for row, team in zip(rows, owners)], time.time())
    return [
        _key_view(row, team, totals.get(row.id, (0, 0)), report)
        for row, team, report in zip(rows, owners, reports)
    ]


def _scopes(row: KeyRow, team: TeamRow | None) -> list[tuple[Scope, str, str]]:
    scopes: list[tuple[Scope, str, str]] = [("key", row.id, row.name)]
    if team is not None:
        scopes.append(("team", team.id, team.name))
    return scopes


def _key_view(
    row: KeyRow, team: TeamRow | None, totals: tuple[int, int], report: dict[str, Any]
) -> dict[str, Any]:
    credits, spent = totals
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "user": row.user_id,
        "team": team.name if team else None,
        "team_id": row.team_id,
        "status": row.status(time.time()),
        "credits": pico_to_usd(credits) if row.credits_enabled else None,
        "spent": pico_to_usd(spent),
        "balance": pico_to_usd(credits - spent) if row.credits_enabled else None,
        "rpm": row.rpm,
        "tpm": row.tpm,
        "models": list(row.models) if row.models is not None else None,
        "rate_multiplier": str(row.rate_multiplier),
        "expires_at": _iso(row.expires_at),
        "zdr": row.zdr,
        "created_at": _iso(row.created_at),
        "usage": report["usage"],
        "limits": report["limits"],
        "alerts": report["alerts"],
    }


def _iso(ts: float | None) -> str | None:
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@app.command("create")
def create(
    ctx: typer.Context,
    name: NameOpt = None,
    user: UserOpt = None,
    team: TeamOpt = None,
    credits: CreditsOpt = None,
    rpm: RpmOpt = None,
    tpm: TpmOpt = None,
    models: ModelsOpt = None,
    rate_multiplier: MultOpt = None,
    expires_in: ExpiresOpt = None,
    zdr: ZdrOpt = False,
    quiet: QuietOpt = False,
    json_out: JsonOption = False,
) -> None:
    """Mint a key. The full key is printed once and stored only as a hash.

    Without --credits the key is metered but not capped. Piped or with -q, only the key is printed.

    Example: olga keys create --name laptop --credits 5 --rpm 60 ; KEY=$(olga keys create --name ci -q)
    """
    if name is None:
        raise fail("--name is required, e.g. `olga keys create --name laptop`")
    key_name = check_name(name, what="key")
    env = env_of(ctx)

    async def work() -> tuple[dict[str, Any], str]:
        async with store(env) as db:
            if await db.keys.get_key(key_name) is not None:
                raise UserError(f"a key named '{key_name}' exists already; pick another --name")
            row, plaintext = await db.keys.create_key(
                name=key_name,
                user_id=user,
                team_id=await find_team_id(db, team),
                credits_pico=parse_credits(credits),
                rpm=positive(rpm, flag="--rpm"),
                tpm=positive(tpm, flag="--tpm"),
                models=parse_models(models, home=env.home),
                rate_multiplier=parse_multiplier(rate_multiplier) or Decimal(1),
                expires_at=time.time() + parse_duration(expires_in, flag="--expires-in")
                if expires_in
                else None,
                zdr=zdr,
            )
            return await key_json(db, row), plaintext

    data, plaintext = run(work())
    if json_out:
        print_json({**data, "key": plaintext})
        return
    out = console()
    if quiet or not out.is_terminal:
        sys.stdout.write(plaintext + "\n")  # KEY=$(olga keys create --name ci) captures the key alone
        if data["balance"] is None and not quiet:  # said where a person still sees it
            sys.stderr.write(
                f"note: no --credits: the key is metered but not capped (olga credits topup {key_name} 5)\n"
            )
        return
    from rich.panel import Panel

    out.print(
        Panel(f"[bold]{plaintext}[/bold]", title=f"key '{escape(key_name)}' ({data['id']})", expand=False)
    )
    out.print("Copy it now: olga stores only its hash and cannot show it again.")
    if data["balance"] is not None:
        out.print(f"Credits: ${data['balance']}")
    else:
        out.print("[yellow]No --credits: the key is metered but not capped.[/yellow]")
        out.print(f"Cap it with: olga credits topup {escape(key_name)} 5", soft_wrap=True)


@app.command("list")
def list_keys(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """List keys (never their secrets); piped, tab-separated lines under a header.

    On a narrow terminal the prefix, expires, limits and team columns go first; balances and ids are
    never cut.
    Example: olga keys list --json
    """
    env = env_of(ctx)

    async def work() -> list[dict[str, Any]]:
        async with store(env) as db:
            return await keys_json(db)

    rows = run(work())
    if json_out:
        print_json(rows)
    elif not rows:
        console().print("No keys yet. Mint one with `olga keys create --name NAME`.")
    else:
        emit(console(), keys_listing(rows))


@app.command("show")
def show(ctx: typer.Context, key: KeyArg, json_out: JsonOption = False) -> None:
    """Show one key by name or id: its settings, spend in each window, limits and alerts.

    Piped, each section is tab-separated lines under a header. Example: olga keys show laptop
    """
    env = env_of(ctx)

    async def work() -> dict[str, Any]:
        async with store(env) as db:
            return await key_json(db, await find_key(db, key))

    data = run(work())
    if json_out:
        print_json(data)
        return
    money = ("credits", "spent", "balance")
    fields = [
        (field, "-" if value is None else f"${value}" if field in money else str(value))
        for field, value in data.items()
        if field not in ("usage", "limits", "alerts")
    ]
    emit_all(console(), [fields_listing(fields, title=f"key {data['name']}"), *report_listings(data)])


@app.command("update")
def update(
    ctx: typer.Context,
    key: KeyArg,
    name: NameOpt = None,
    user: UserOpt = None,
    team: TeamOpt = None,
    credits: CreditsOpt = None,
    rpm: RpmOpt = None,
    tpm: TpmOpt = None,
    models: ModelsOpt = None,
    rate_multiplier: MultOpt = None,
    expires_in: ExpiresOpt = None,
    zdr: Annotated[bool | None, typer.Option("--zdr/--no-zdr", help="Zero data retention on or off.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Change a key's settings; --credits adds a top-up. Example: olga keys update laptop --rpm 120"""
    env = env_of(ctx)

    async def work() -> dict[str, Any]:
        async with store(env) as db:
            row = await find_key(db, key)
            fields: dict[str, Any] = {}
            if name is not None and name != row.name:
                new_name = check_name(name, what="key")
                if await db.keys.get_key(new_name) is not None:
                    raise UserError(f"a key named '{new_name}' exists already")
                fields["name"] = new_name
            if user is not None:
                fields["user_id"] = user
            if team is not None:
                fields["team_id"] = await find_team_id(db, team)
            if rpm is not None:
                fields["rpm"] = positive(rpm, flag="--rpm")
            if tpm is not None:
                fields["tpm"] = positive(tpm, flag="--tpm")
            if models is not None:
                fields["models"] = (
                    None if models.strip() in ("", "*") else parse_models(models, home=env.home)
                )
            if rate_multiplier is not None:
                fields["rate_multiplier"] = parse_multiplier(rate_multiplier)
            if expires_in is not None:
                fields["expires_at"] = time.time() + parse_duration(expires_in, flag="--expires-in")
            if zdr is not None:
                fields["zdr"] = zdr
            amount = parse_credits(credits)
            await db.keys.update_key(row.id, **fields)
            if amount:
                await db.ledger.add_credits(row.id, amount, "keys update --credits")
            return await key_json(db, await find_key(db, row.id))

    data = run(work())
    if json_out:
        print_json(data)
    else:
        console().print(f"Updated key '{escape(data['name'])}'.")


def _set_state(ctx: typer.Context, key: str, action: str, json_out: bool) -> None:
    env = env_of(ctx)

    async def work() -> dict[str, Any]:
        async with store(env) as db:
            row = await find_key(db, key)
            if action == "delete":
                await db.keys.delete_key(row.id)
            else:
                await db.keys.update_key(row.id, disabled=action == "disable")
            data = await key_json(db, row)
            data["status"] = {"delete": "deleted", "disable": "disabled", "enable": "active"}[action]
            return data

    data = run(work())
    if json_out:
        print_json(data)
    else:
        console().print(f"Key '{escape(data['name'])}' is now {data['status']}.")


@app.command("disable")
def disable(ctx: typer.Context, key: KeyArg, json_out: JsonOption = False) -> None:
    """Refuse the key (401) until enabled again. Example: olga keys disable laptop"""
    _set_state(ctx, key, "disable", json_out)


@app.command("enable")
def enable(ctx: typer.Context, key: KeyArg, json_out: JsonOption = False) -> None:
    """Accept a disabled key again. Example: olga keys enable laptop"""
    _set_state(ctx, key, "enable", json_out)


@app.command("delete")
def delete(ctx: typer.Context, key: KeyArg, yes: YesOpt = False, json_out: JsonOption = False) -> None:
    """Delete a key for good (asks first, unless --yes); its records and charges stay.

    Example: olga keys delete laptop --yes
    """
    if not yes and not typer.confirm(f"Delete key '{key}' for good?", err=True):
        raise fail("nothing deleted; pass --yes to delete without asking")
    _set_state(ctx, key, "delete", json_out)

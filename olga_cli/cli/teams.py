"""``olga teams``: keys that share usage limits, a model allow-list and a rate multiplier."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from olga_cli.cli.common import JsonOption, console, env_of, print_json, run, store
from olga_cli.cli.lookups import check_name, find_team, parse_models, parse_multiplier
from olga_cli.cli.names import TeamArg
from olga_cli.cli.render.limits import report_listings
from olga_cli.cli.render.lists import teams_listing
from olga_cli.cli.render.table import emit, emit_all, fields_listing
from olga_cli.errors import UserError
from olga_cli.gateway.admission.limit_views import stored_report
from olga_cli.gateway.admission.windows import iso
from olga_cli.store.base import Store
from olga_cli.store.keys import TeamRow

app = typer.Typer(
    help="Teams: keys that share limits, an allow-list and a rate multiplier.", no_args_is_help=True
)

ModelsOpt = Annotated[
    str | None, typer.Option("--models", help="Models the team's keys may use, comma-separated ('*': any).")
]
MultOpt = Annotated[
    str | None, typer.Option("--rate-multiplier", help="Multiplies every cost of the team's keys.")
]


def _models(text: str | None, home: Path) -> tuple[str, ...] | None:
    return None if text is None or text.strip() in ("", "*") else parse_models(text, home=home)


async def team_json(db: Store, team: TeamRow, *, report: bool = True) -> dict[str, Any]:
    keys = [row for row in await db.keys.list_keys() if row.team_id == team.id]
    data: dict[str, Any] = {
        "id": team.id,
        "name": team.name,
        "models": list(team.models) if team.models is not None else None,
        "rate_multiplier": str(team.rate_multiplier),
        "keys": [row.name for row in keys],
        "created_at": iso(team.created_at),
    }
    if report:
        data.update(await stored_report(db, [("team", team.id, team.name)], time.time()))
    return data


@app.command("create")
def create(
    ctx: typer.Context,
    name: str,
    models: ModelsOpt = None,
    rate_multiplier: MultOpt = None,
    json_out: JsonOption = False,
) -> None:
    """Create a team; add keys with `olga keys create --team NAME`.

    Example: olga teams create research --models openai/*
    """
    env = env_of(ctx)

    async def work() -> dict[str, Any]:
        team_name = check_name(name, what="team")
        allowed = _models(models, env.home)
        multiplier = parse_multiplier(rate_multiplier)
        async with store(env) as db:
            if await db.keys.get_team(team_name) is not None:
                raise UserError(f"a team named '{team_name}' exists already; pick another name")
            kwargs: dict[str, Any] = {"models": allowed}
            if multiplier is not None:
                kwargs["rate_multiplier"] = multiplier
            return await team_json(db, await db.keys.create_team(name=team_name, **kwargs))

    data = run(work())
    if json_out:
        print_json(data)
    else:
        console().print(f"Created team '{escape(data['name'])}' ({data['id']}).")


@app.command("list")
def list_teams(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """List teams with their keys; piped, tab-separated lines under a header.

    On a narrow terminal the limits, multiplier and models columns go first; ids are never cut.
    Example: olga teams list --json
    """
    env = env_of(ctx)

    async def work() -> list[dict[str, Any]]:
        async with store(env) as db:
            return [await team_json(db, team) for team in await db.keys.list_teams()]

    rows = run(work())
    if json_out:
        print_json(rows)
        return
    if not rows:
        console().print("No teams yet. Create one with `olga teams create NAME`.")
        return
    emit(console(), teams_listing(rows))


@app.command("show")
def show(ctx: typer.Context, team: TeamArg, json_out: JsonOption = False) -> None:
    """A team, its keys, its usage in each window and its limits (piped: tab-separated sections).

    Example: olga teams show research
    """
    env = env_of(ctx)

    async def work() -> dict[str, Any]:
        async with store(env) as db:
            return await team_json(db, await find_team(db, team))

    data = run(work())
    if json_out:
        print_json(data)
        return
    fields = [
        ("id", data["id"]),
        ("keys", ", ".join(data["keys"]) or "-"),
        ("models", ", ".join(data["models"]) if data["models"] is not None else "any"),
        ("rate multiplier", data["rate_multiplier"]),
    ]
    emit_all(console(), [fields_listing(fields, title=f"team {data['name']}"), *report_listings(data)])


@app.command("update")
def update(
    ctx: typer.Context,
    team: TeamArg,
    name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    models: ModelsOpt = None,
    rate_multiplier: MultOpt = None,
    json_out: JsonOption = False,
) -> None:
    """Rename a team, change its allow-list or multiplier. Example: olga teams update research --models '*'"""
    env = env_of(ctx)

    async def work() -> dict[str, Any]:
        multiplier = parse_multiplier(rate_multiplier)
        async with store(env) as db:
            row = await find_team(db, team)
            fields: dict[str, Any] = {}
            if name is not None and name != row.name:
                new_name = check_name(name, what="team")
                if await db.keys.get_team(new_name) is not None:
                    raise UserError(f"a team named '{new_name}' exists already")
                fields["name"] = new_name
            if models is not None:
                fields["models"] = _models(models, env.home)
            if multiplier is not None:
                fields["rate_multiplier"] = multiplier
            await db.keys.update_team(row.id, **fields)
            return await team_json(db, await find_team(db, row.id))

    data = run(work())
    if json_out:
        print_json(data)
    else:
        console().print(f"Updated team '{escape(data['name'])}'.")


@app.command("delete")
def delete(ctx: typer.Context, team: TeamArg, json_out: JsonOption = False) -> None:
    """Delete a team: its keys stay, without a team; its limits go. Example: olga teams delete research"""
    env = env_of(ctx)

    async def work() -> dict[str, Any]:
        async with store(env) as db:
            row = await find_team(db, team)
            data = await team_json(db, row, report=False)
            await db.keys.delete_team(row.id)  # its limits go in the same transaction
            return {**data, "status": "deleted"}

    data = run(work())
    if json_out:
        print_json(data)
    else:
        left = f"; {len(data['keys'])} key(s) left it" if data["keys"] else ""
        console().print(f"Deleted team '{escape(data['name'])}'{left}.")

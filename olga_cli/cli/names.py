"""Shell completion of the names a command takes: keys, teams, providers and models.

Each <Tab> runs ``olga`` once: these read the store directly (``store.names``: the SQLite file, or in
team mode the PostgreSQL store of --database-url or OLGA_DATABASE_URL), the config and the catalog,
and import neither the server nor the gateway.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from olga_cli.errors import UserError
from olga_cli.store.names import Named


def _home(ctx: typer.Context) -> Path:
    from olga_cli.locations import resolve_home

    home = ctx.find_root().params.get("home")
    return resolve_home(home)


def _starting(names: list[str], incomplete: str) -> list[str]:
    return [name for name in names if name.startswith(incomplete)]


def _store_location(ctx: typer.Context) -> Path | str | None:
    """The team's PostgreSQL URL when one is given, else the SQLite file in the home; None when the
    URL given is not one (a <Tab> offers nothing rather than an error)."""
    from olga_cli.locations import resolve_database_url

    try:
        url = resolve_database_url(ctx.find_root().params.get("database_url"), os.environ)
    except UserError:
        return None
    return url or _home(ctx) / "olga.db"


def _stored(ctx: typer.Context, table: Named, incomplete: str) -> list[str]:
    location = _store_location(ctx)
    if location is None:
        return []
    if isinstance(location, Path):
        from olga_cli.store.sqlite.names import live_names

        return _starting(live_names(location, table), incomplete)
    try:
        from olga_cli.store.postgres.names import live_names as team_names
    except ImportError:  # no team extra installed: nothing to offer
        return []
    return _starting(team_names(location, table), incomplete)


def key_names(ctx: typer.Context, incomplete: str) -> list[str]:
    return _stored(ctx, "keys", incomplete)


def team_names(ctx: typer.Context, incomplete: str) -> list[str]:
    return _stored(ctx, "teams", incomplete)


def guardrail_names(ctx: typer.Context, incomplete: str) -> list[str]:
    return _stored(ctx, "guardrails", incomplete)


def tag_names(ctx: typer.Context, incomplete: str) -> list[str]:
    return _stored(ctx, "tags", incomplete)


def provider_names(ctx: typer.Context, incomplete: str) -> list[str]:
    from olga_cli.config import load_config

    try:
        return _starting(list(load_config(_home(ctx)).providers), incomplete)
    except Exception:  # a broken config.toml: offer nothing rather than a traceback mid-<Tab>
        return []


def model_names(ctx: typer.Context, incomplete: str) -> list[str]:
    from olga_cli.catalog import load_catalog

    try:
        catalog = load_catalog(_home(ctx))
    except Exception:  # a broken catalog overlay: offer nothing rather than a traceback mid-<Tab>
        return []
    return _starting(sorted(e.id for e in catalog.entries()), incomplete)


def model_lists(ctx: typer.Context, incomplete: str) -> list[str]:
    """``--models a,b,c``: the names already typed stay, the last one is completed."""
    head, comma, last = incomplete.rpartition(",")
    return [head + comma + name for name in model_names(ctx, last)]


Completer = Callable[[typer.Context, str], list[str]]

# What each option or argument names, by its parameter's name, wherever it appears; (command, name)
# for a parameter whose name says less than its command (`guardrails remove ID`).
COMPLETERS: dict[str, Completer] = {
    "key": key_names,
    "team": team_names,
    "provider": provider_names,
    "model": model_names,
    "to_model": model_names,
    "models": model_lists,
    "tag": tag_names,
}
COMMAND_COMPLETERS: dict[tuple[str, str], Completer] = {("guardrails remove", "ref"): guardrail_names}


def wire_completion(command: Any, path: str = "") -> None:
    """Give every parameter that names a key, team, provider, model, guardrail or tag its completion
    from the store, the config or the catalog (one table, so no command is left out)."""
    for param in getattr(command, "params", ()):
        completer = COMMAND_COMPLETERS.get((path, param.name)) or COMPLETERS.get(param.name or "")
        if completer is not None and getattr(param, "_custom_shell_complete", None) is None:
            param._custom_shell_complete = _click_style(completer)
    for name, sub in getattr(command, "commands", {}).items():
        wire_completion(sub, f"{path} {name}".strip())


def _click_style(completer: Completer) -> Callable[[Any, Any, str], list[str]]:
    def complete(ctx: Any, param: Any, incomplete: str) -> list[str]:
        return completer(ctx, incomplete)

    return complete


KeyArg = Annotated[str, typer.Argument(metavar="KEY", help="Key name or id.", autocompletion=key_names)]
TeamArg = Annotated[str, typer.Argument(metavar="TEAM", help="Team name or id.", autocompletion=team_names)]
ProviderArg = Annotated[
    str, typer.Argument(metavar="NAME", help="Provider name.", autocompletion=provider_names)
]

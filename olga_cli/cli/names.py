"""Shell completion of the names a command takes: keys, teams, providers and models.

Each <Tab> runs ``olga`` once: these read the store file directly (``store.sqlite.names``), the
config and the catalog, and import neither the server nor the gateway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from olga_cli.store.sqlite.names import live_names


def _home(ctx: typer.Context) -> Path:
    from olga_cli.config import resolve_home

    home = ctx.find_root().params.get("home")
    return resolve_home(home)


def _starting(names: list[str], incomplete: str) -> list[str]:
    return [name for name in names if name.startswith(incomplete)]


def key_names(ctx: typer.Context, incomplete: str) -> list[str]:
    return _starting(live_names(_home(ctx) / "olga.db", "keys"), incomplete)


def team_names(ctx: typer.Context, incomplete: str) -> list[str]:
    return _starting(live_names(_home(ctx) / "olga.db", "teams"), incomplete)


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


KeyArg = Annotated[str, typer.Argument(metavar="KEY", help="Key name or id.", autocompletion=key_names)]
TeamArg = Annotated[str, typer.Argument(metavar="TEAM", help="Team name or id.", autocompletion=team_names)]
ProviderArg = Annotated[
    str, typer.Argument(metavar="NAME", help="Provider name.", autocompletion=provider_names)
]

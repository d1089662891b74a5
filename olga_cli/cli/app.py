"""The ``olga`` command: one Typer sub-app per noun."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from olga_cli import __version__
from olga_cli.cli import (
    credits,
    doctor,
    env,
    guardrails,
    keys,
    limits,
    logs,
    models,
    providers,
    routes,
    run,
    store_commands,
    teams,
    usage,
)
from olga_cli.cli.common import Env, OneLineErrors, guard_commands
from olga_cli.cli.completion import enable_completion
from olga_cli.cli.generation import generation
from olga_cli.cli.serve import serve
from olga_cli.config import resolve_home

app = typer.Typer(
    name="olga",
    help="olga: a local LLM gateway for developers. Example: olga serve, then olga logs --follow",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=OneLineErrors,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"olga {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    home: Annotated[Path | None, typer.Option("--home", help="olga's home folder (else $OLGA_HOME).")] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Team mode: the shared PostgreSQL store (else $OLGA_DATABASE_URL; else SQLite).",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    ctx.obj = Env(resolve_home(home), database_url)


app.command("serve")(serve)
app.command("generation")(generation)
app.add_typer(keys.app, name="keys")
app.add_typer(credits.app, name="credits")
app.add_typer(teams.app, name="teams")
app.add_typer(limits.app, name="limits")
app.add_typer(guardrails.app, name="guardrails")
app.add_typer(providers.app, name="providers")
app.add_typer(routes.app, name="routes")
app.add_typer(models.app, name="models")
app.add_typer(logs.app, name="logs")
app.command("usage")(usage.usage)
app.command("env")(env.env)
app.command("run", context_settings=run.CONTEXT_SETTINGS)(run.run)
app.command("doctor")(doctor.doctor)
app.add_typer(store_commands.app, name="store")

# Register commands above this line: every command is wrapped so user mistakes never show a traceback.
guard_commands(app)


def main() -> None:
    enable_completion()
    app(prog_name="olga")  # also names the completion variable _OLGA_COMPLETE under `python -m`

"""The ``olga`` command: one Typer sub-app per noun, each loaded only when it is needed."""

from __future__ import annotations

import copy
import importlib
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from olga_cli import __version__
from olga_cli.cli.common import Env, OneLineErrors, guard_commands
from olga_cli.locations import resolve_home

# Each command's module, loaded only when the command is run (or when every command is listed, for
# `olga --help` and completion): `olga keys list` never imports the server. (name, module, attribute,
# whether the attribute is a group of commands; a module's CONTEXT_SETTINGS apply to its command)
COMMANDS: tuple[tuple[str, str, str, bool], ...] = (
    ("serve", "olga_cli.cli.serve", "serve", False),
    ("generation", "olga_cli.cli.generation", "generation", False),
    ("keys", "olga_cli.cli.keys", "app", True),
    ("credits", "olga_cli.cli.credits", "app", True),
    ("teams", "olga_cli.cli.teams", "app", True),
    ("limits", "olga_cli.cli.limits", "app", True),
    ("guardrails", "olga_cli.cli.guardrails", "app", True),
    ("providers", "olga_cli.cli.providers", "app", True),
    ("routes", "olga_cli.cli.routes", "app", True),
    ("models", "olga_cli.cli.models", "app", True),
    ("logs", "olga_cli.cli.logs", "app", True),
    ("usage", "olga_cli.cli.usage", "usage", False),
    ("env", "olga_cli.cli.env", "env", False),
    ("run", "olga_cli.cli.run", "run", False),
    ("doctor", "olga_cli.cli.doctor", "doctor", False),
    ("store", "olga_cli.cli.store_commands", "app", True),
)
NAMES = frozenset(name for name, *_ in COMMANDS)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"olga {__version__}")
        raise typer.Exit()


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
    redis_url: Annotated[
        str | None,
        typer.Option(
            "--redis-url",
            help="Team mode: Redis for rate limits, key rests and breakers (else $OLGA_REDIS_URL).",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    ctx.obj = Env(resolve_home(home), database_url, redis_url)


def build_app(only: str | None = None, sub: str | None = None) -> typer.Typer:
    """The root command with every command registered, or only ``only`` (what `olga ONLY ...` needs),
    and of a group only its command ``sub`` when it has one of that name (`olga keys list` builds
    `list`, not the group's seven commands: Typer reads every command's signature to build it)."""
    built = typer.Typer(
        name="olga",
        help="olga: a local LLM gateway for developers. Example: olga serve, then olga logs --follow",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        cls=OneLineErrors,
    )
    built.callback()(root)
    for name, module_name, attribute, group in COMMANDS:
        if only is not None and name != only:
            continue
        module = importlib.import_module(module_name)
        if group:
            built.add_typer(_narrowed(getattr(module, attribute), sub), name=name)
        else:
            settings = getattr(module, "CONTEXT_SETTINGS", None)
            built.command(name, context_settings=settings)(getattr(module, attribute))
    # Every command is wrapped so user mistakes never show a traceback.
    guard_commands(built)
    return built


def _narrowed(group: typer.Typer, sub: str | None) -> typer.Typer:
    """``group`` with only its command ``sub``, if it has one by that name; else ``group`` itself."""
    chosen = [info for info in group.registered_commands if sub is not None and info.name == sub]
    if not chosen:
        return group
    narrowed = copy.copy(group)  # the module's group keeps all its commands
    narrowed.registered_commands = chosen
    return narrowed


def __getattr__(name: str) -> Any:
    """``app``: the whole command, built on first use (tests and ``olga --help`` need every command)."""
    if name == "app":
        globals()["app"] = built = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def command_named(args: list[str]) -> str | None:
    """The command word of ``args`` (after --home PATH and the like), if it is one of olga's."""
    return words_named(args)[0]


def words_named(args: list[str]) -> tuple[str | None, str | None]:
    """The command word of ``args``, if it is one of olga's, and the word after it (a group's
    command, if it is one; the caller checks)."""
    words = iter(args)
    for word in words:
        if word in ("--home", "--database-url", "--redis-url"):
            next(words, None)
        elif not word.startswith("-"):
            if word not in NAMES:
                return None, None
            return word, next((w for w in words if not w.startswith("-")), None)
    return None, None


def _completed_words() -> list[str]:
    """At a <Tab>: the words typed before the one being completed (bash gives them in COMP_WORDS and
    COMP_CWORD, zsh and fish in _TYPER_COMPLETE_ARGS), so only the command named there is loaded."""
    if "COMP_WORDS" in os.environ:
        words = os.environ["COMP_WORDS"].split()
        cword = int(os.environ.get("COMP_CWORD", len(words)) or len(words))
        return words[1:cword]
    typed = os.environ.get("_TYPER_COMPLETE_ARGS", "")
    words = typed.split()
    return words[1:] if typed.endswith(" ") else words[1:-1]


def main() -> None:
    completing = "_OLGA_COMPLETE" in os.environ
    if completing:
        from olga_cli.cli.completion import enable_completion  # only at a <Tab>

        enable_completion()
    if completing:  # a group's command names are among what is completed: the group is built whole
        build_app(command_named(_completed_words()))(prog_name="olga")
        return
    only, sub = words_named(sys.argv[1:])
    build_app(only, sub)(prog_name="olga")  # also names the completion variable _OLGA_COMPLETE

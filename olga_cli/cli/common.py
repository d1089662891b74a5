"""What every command shares: the home folder, running store work, one-line errors, --json output."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer

# Typer vendors Click and re-exports only some of its exceptions; the root command needs these to
# print usage mistakes as one line (pinned by tests/cli/test_errors.py).
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from olga_cli.cli.coercion import plain_conversion
from olga_cli.cli.names import wire_completion
from olga_cli.errors import OlgaError, StoreError, UserError
from olga_cli.locations import resolve_database_url, resolve_home

if TYPE_CHECKING:  # the configuration and the store's backends load when a command uses them
    from rich.console import Console

    from olga_cli.config import Config
    from olga_cli.store.base import Store

T = TypeVar("T")

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]


@dataclass(frozen=True)
class Env:
    home: Path
    database_url: str | None = None  # --database-url; OLGA_DATABASE_URL is read when None
    redis_url: str | None = None

    def config(self) -> Config:
        from olga_cli.config import load_config

        return load_config(self.home, database_url=self.database_url, redis_url=self.redis_url)

    def store_location(self) -> Path | str:
        """The team's PostgreSQL store when a URL is given, else the SQLite file in the home."""
        return resolve_database_url(self.database_url, os.environ) or self.home / "olga.db"

    def has_store(self) -> bool:
        """Whether there is a store to read (looking never creates a SQLite file)."""
        location = self.store_location()
        return isinstance(location, str) or location.exists()


def env_of(ctx: typer.Context) -> Env:
    obj = ctx.find_root().obj
    if isinstance(obj, Env):
        return obj
    return Env(resolve_home(None))


def console() -> Console:
    return cast("Console", _Deferred(stderr=False))


def error_console() -> Console:
    return cast("Console", _Deferred(stderr=True))


def escape(text: str) -> str:
    """Rich markup escaped, for a name inside a message; rich.markup is imported only when one is
    printed, so a command that merely lists (piped) never loads it."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


class _Deferred:
    """A Rich console made only when something needs Rich.

    Piped output that only asks whether it goes to a terminal and writes to the file (every listing,
    tab-separated) never imports rich.console: 30-40 ms, a tenth of `olga keys list`'s start. Anything
    else (printing, a width set) makes the console and goes to it.
    """

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    @property
    def file(self) -> IO[str]:
        if self._console is not None:
            return self._console.file
        return sys.stderr if self._stderr else sys.stdout

    @property
    def is_terminal(self) -> bool:
        if self._console is None and _plainly_piped(self.file):
            return False
        return self._real().is_terminal

    def _real(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = _whole_lines_when_piped(Console(stderr=self._stderr, highlight=False))
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._real(), name, value)


def _plainly_piped(stream: IO[str]) -> bool:
    """True when ``stream`` is surely not a terminal for Rich: not a tty, and no variable that makes
    Rich treat it as one. Anything unsure (no file descriptor, a forcing variable) is Rich's to say."""
    if any(os.environ.get(name) for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")):
        return False
    try:
        return not os.isatty(stream.fileno())
    except (AttributeError, ValueError, OSError):
        return False


def _whole_lines_when_piped(out: Console) -> Console:
    """Off a terminal nothing knows a width: lines go out whole, never folded at 80 columns."""
    if not out.is_terminal:
        out.soft_wrap = True
    return out


def fail(message: str) -> typer.Exit:
    """Print one line on stderr; the caller raises the returned Exit."""
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(1)


class OneLineErrors(TyperGroup):
    """The root command: a usage mistake (unknown option, missing argument, a value of the wrong type)
    is one ``error:`` line naming the help to read, exit status 2, instead of Click's boxed panel."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        plain_metavars(self)
        wire_completion(self)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:
            exc.show()
            result = 0
        except UsageError as exc:
            hint = f"; see `{exc.ctx.command_path} --help`" if exc.ctx is not None else ""
            message = exc.format_message().rstrip(".")
            sys.stderr.write(f"error: {message[:1].lower() + message[1:]}{hint}\n")
            result = exc.exit_code
        except ClickException as exc:
            sys.stderr.write(f"error: {exc.format_message()}\n")
            result = exc.exit_code
        except typer.Abort:
            sys.stderr.write("error: aborted\n")
            result = 1
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


# What an option's value is, in help: words a person reads, not Python types (`<str>`, `<int>`).
_METAVARS = {
    "credits": "USD",
    "threshold": "N|USD",
    "rate_multiplier": "X",
    "models": "M1,M2",
    "expires_in": "DURATION",
    "since": "DURATION",
    "older_than": "DURATION",
    "alert": "50,80,100",
    "entities": "E1,E2",
    "home": "PATH",
    "database_url": "URL",
    "redis_url": "URL",
    "base_url": "URL",
    "api_key_env": "VAR",
    "api_key": "VALUE",
    "connect_timeout": "SECONDS",
    "first_byte_timeout": "SECONDS",
    "idle_timeout": "SECONDS",
    "total_timeout": "SECONDS",
    "max_response_mb": "MIB",
    "max_event_mb": "MIB",
    "max_line_mb": "MIB",
    "to_model": "MODEL",
    "format_": "openai|anthropic",
}


def plain_metavars(command: Any) -> None:
    """Give every option and argument a metavar in words (``--credits USD``, ``KEY``), once. Typer
    would show the Python type (``<str>``, ``<bool>``) where a person expects what to type."""
    if getattr(command, "_olga_plain", False):
        return
    command._olga_plain = True
    for param in getattr(command, "params", ()):
        plain_conversion(param)  # no Pydantic on the way to every command (cli/coercion.py)
        if param.param_type_name == "argument":
            param.display_type_rich = _no_type  # the argument's name (KEY) already says it
            if param.metavar is None and param.name is not None:
                param.metavar = param.name.upper()
        elif param.metavar is None and param.name is not None:
            flag = getattr(param, "is_flag", False)
            param.metavar = "" if flag else _METAVARS.get(param.name, param.name.upper().rstrip("_"))
    original = command.get_help_option

    def help_option(ctx: Any) -> Any:
        option = original(ctx)
        if option is not None:
            option.metavar = ""
            plain_conversion(option)
        return option

    command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        plain_metavars(sub)


def _no_type(ctx: Any) -> None:
    return None


def guard_commands(typer_app: typer.Typer) -> None:
    """Wrap every command so that an olga error raised anywhere in it is one line and exit 1."""
    for info in typer_app.registered_commands:
        if info.callback is not None and not getattr(info.callback, "_olga_guarded", False):
            info.callback = _guarded(info.callback)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            guard_commands(group.typer_instance)
            callback = group.typer_instance.registered_callback
            if (
                callback is not None
                and callback.callback is not None
                and not getattr(callback.callback, "_olga_guarded", False)
            ):
                callback.callback = _guarded(callback.callback)


def _guarded(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (OlgaError, StoreError) as exc:
            raise fail(getattr(exc, "message", str(exc))) from None
        except sqlite3.Error as exc:
            raise fail(store_trouble(exc)) from None
        except OSError as exc:
            raise fail(os_trouble(exc)) from None

    wrapper._olga_guarded = True  # type: ignore[attr-defined]
    return wrapper


def store_trouble(exc: sqlite3.Error, path: Path | None = None) -> str:
    """One line for a store that cannot be used, naming what to do."""
    where = f"the store {path}" if path is not None else "the store"
    text = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
        return (
            f"{where} is not a readable SQLite database ({text}); run `olga doctor`, then move it aside "
            "(olga starts a new one) or restore it from a backup"
        )
    if "locked" in text or "busy" in text:
        return f"{where} is busy ({text}); another olga is writing to it, try again in a moment"
    if "readonly" in text or "unable to open" in text:
        return f"{where} cannot be written ({text}); check the home folder's owner and permissions"
    return f"{where} could not be used ({text}); `olga doctor` checks it"


def os_trouble(exc: OSError) -> str:
    """One line for a file olga could not read or write (most often the home folder)."""
    what = exc.filename or "a file"
    reason = exc.strerror or str(exc)
    return f"cannot use {what} ({reason}); choose a home folder you can write with --home PATH or OLGA_HOME"


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's async work; user mistakes become one line on stderr and exit status 1."""
    try:
        return asyncio.run(work)
    except (OlgaError, StoreError) as exc:
        raise fail(getattr(exc, "message", str(exc))) from None
    except sqlite3.Error as exc:
        raise fail(store_trouble(exc)) from None


@asynccontextmanager
async def store(env: Env) -> AsyncIterator[Store]:
    from olga_cli.store.db import open_store

    path = env.home / "olga.db"  # what a SQLite error names (team mode's errors name the URL)
    try:
        db = await open_store(env.store_location())
    except sqlite3.Error as exc:
        raise UserError(store_trouble(exc, path)) from None
    except OSError as exc:
        raise UserError(os_trouble(exc)) from None
    try:
        yield db
    except sqlite3.Error as exc:
        raise UserError(store_trouble(exc, path)) from None
    finally:
        await db.close()


async def with_store(env: Env, work: Callable[[Store], Awaitable[T]]) -> T:
    async with store(env) as db:
        return await work(db)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_json_line(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=str) + "\n")
    sys.stdout.flush()

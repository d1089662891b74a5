"""What every command shares: the home folder, running store work, one-line errors, --json output."""

from __future__ import annotations

import asyncio
import functools
import json
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import aiosqlite
import typer
from rich.console import Console

from olga_cli.config import Config, load_config, resolve_home
from olga_cli.errors import OlgaError, UserError
from olga_cli.store.base import Store
from olga_cli.store.db import StoreError, open_store

T = TypeVar("T")

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]


@dataclass(frozen=True)
class Env:
    home: Path

    def config(self) -> Config:
        return load_config(self.home)


def env_of(ctx: typer.Context) -> Env:
    obj = ctx.find_root().obj
    if isinstance(obj, Env):
        return obj
    return Env(resolve_home(None))


def console() -> Console:
    return Console(highlight=False)


def error_console() -> Console:
    return Console(stderr=True, highlight=False)


def fail(message: str) -> typer.Exit:
    """Print one line on stderr; the caller raises the returned Exit."""
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(1)


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

    wrapper._olga_guarded = True  # type: ignore[attr-defined]
    return wrapper


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's async work; user mistakes become one line on stderr and exit status 1."""
    try:
        return asyncio.run(work)
    except (OlgaError, StoreError) as exc:
        raise fail(getattr(exc, "message", str(exc))) from None
    except aiosqlite.OperationalError as exc:
        raise fail(f"the store could not be used ({exc}); is the home folder writable?") from None


@asynccontextmanager
async def store(env: Env) -> AsyncIterator[Store]:
    db = await open_store(env.home / "olga.db")
    try:
        yield db
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


_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str, *, flag: str) -> int:
    """``30d`` -> seconds. Units: s, m, h, d, w."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) <= 0:
        raise UserError(f"{flag} takes a duration such as 90m, 12h, 30d or 2w, not {text!r}")
    return int(match.group(1)) * _UNIT[match.group(2)]


def parse_models(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    models = tuple(m.strip() for m in text.split(",") if m.strip())
    if not models:
        raise UserError("--models takes a comma-separated list such as openai/gpt-4o-mini,mock/echo")
    return models


def positive(value: int | None, *, flag: str) -> int | None:
    if value is not None and value <= 0:
        raise UserError(f"{flag} must be a positive whole number")
    return value

"""Running olga's CLI in tests and reading what it printed, at a fixed terminal width."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from typer.testing import CliRunner, Result

from olga_cli.cli.app import app

WIDTH = "220"


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def olga(*args: str, env: dict[str, str] | None = None) -> Result:
    """Rich sees no terminal here, so there are no colour codes; COLUMNS keeps tables on one line each."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": WIDTH, **(env or {})}, catch_exceptions=False)


def olga_tty(*args: str, width: int = 80, input: str | None = None) -> tuple[Result, str]:
    """As in a terminal ``width`` columns wide: the result, and its stdout without colour codes."""
    env = {"COLUMNS": str(width), "LINES": "50", "TTY_COMPATIBLE": "1"}
    result = CliRunner().invoke(app, list(args), env=env, input=input, catch_exceptions=False)
    return result, ANSI.sub("", result.stdout)


async def olga_async(*args: str, env: dict[str, str] | None = None) -> Result:
    """For tests whose event loop serves a gateway: the CLI's asyncio.run needs its own thread."""
    return await asyncio.to_thread(olga, *args, env=env)


def json_lines(text: str) -> list[Any]:
    """One JSON object per line (what --follow --json streams)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def json_array(text: str) -> list[Any]:
    """A list command's --json: one JSON array."""
    data = json.loads(text)
    assert isinstance(data, list), data
    return data

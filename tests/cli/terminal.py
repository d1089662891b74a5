"""Running olga's CLI in tests and reading what it printed, at a fixed terminal width."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from typer.testing import CliRunner, Result

from olga_cli.cli.app import app

WIDTH = "220"


def olga(*args: str, env: dict[str, str] | None = None) -> Result:
    """Rich sees no terminal here, so there are no colour codes; COLUMNS keeps tables on one line each."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": WIDTH, **(env or {})}, catch_exceptions=False)


async def olga_async(*args: str, env: dict[str, str] | None = None) -> Result:
    """For tests whose event loop serves a gateway: the CLI's asyncio.run needs its own thread."""
    return await asyncio.to_thread(olga, *args, env=env)


def json_lines(text: str) -> list[Any]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]

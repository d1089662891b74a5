"""Running the CLI in tests: Typer's CliRunner, in a thread when a test's event loop is running."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from typer.testing import CliRunner, Result

from olga_cli.cli.app import app


def olga(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


async def olga_async(*args: str) -> Result:
    """For tests whose event loop runs a gateway: the CLI's own asyncio.run needs another thread."""
    return await asyncio.to_thread(olga, *args)


def olga_json(*args: str) -> Any:
    result = olga(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)

"""``olga run -- COMMAND``: run one program with a key of its own, then say what it spent.

The key is minted for this run only (with optional credits, team and model allow-list), handed to
the program through the variables the OpenAI and Anthropic SDKs read, and deleted when the program
ends (a lifetime of ``SAFETY_LIFETIME`` bounds it even if olga itself is killed). The program's
exit code is olga's; olga's own failures use the codes ``env`` and shells use:

- 125: olga could not start the run (no server answering, bad flags, store trouble)
- 126: the command cannot be executed;  127: the command was not found
- 128 + N: the command was killed by signal N

The summary goes to stderr, so the program's stdout can still be piped.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import aiohttp
import typer

from olga_cli.cli.common import Env, env_of, error_console, print_json, store
from olga_cli.cli.env import mint_for_env, sdk_variables, served_url
from olga_cli.cli.render.table import emit
from olga_cli.cli.render.usage import spend_listing, spend_summary
from olga_cli.config import load_config
from olga_cli.errors import OlgaError, RunFailed, StoreError
from olga_cli.money import pico_to_usd
from olga_cli.store import reports

CONTEXT_SETTINGS = {"allow_interspersed_args": False, "ignore_unknown_options": True}
SAFETY_LIFETIME = 7 * 86400.0  # seconds: the key dies with the run; this only bounds an orphan
READY_TIMEOUT = 3.0  # seconds to wait for the gateway to know the new key
EXIT_OLGA, EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND = 125, 126, 127


def _stop(message: str) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(EXIT_OLGA)


async def _gateway_answers(base: str) -> bool:
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            async with session.get(f"{base}/health") as reply:
                return reply.status == 200
    except (TimeoutError, aiohttp.ClientError):
        return False


async def _wait_until_known(base: str, key: str) -> bool:
    """The server learns new keys from the store within a second; wait so the first request is not a 401."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while loop.time() < deadline:
            async with session.get(f"{base}/v1/key", headers={"Authorization": f"Bearer {key}"}) as reply:
                if reply.status == 200:
                    return True
            await asyncio.sleep(0.1)
    return False


async def _prepare(
    env: Env, base: str, name: str, credits: str | None, team: str | None, models: str | None
) -> tuple[str, str]:
    if not await _gateway_answers(base):
        raise RunFailed(
            f"no olga server answers on {base}; start one with `olga serve` in another terminal "
            "(or set OLGA_PORT / [server] port to where it runs)"
        )
    async with store(env) as db:
        row, plaintext = await mint_for_env(
            db,
            name=name,
            credits=credits,
            team=team,
            models=models,
            expires_in=SAFETY_LIFETIME,
            home=env.home,
        )
    await _wait_until_known(base, plaintext)
    return row.id, plaintext


async def _finish(env: Env, key_id: str) -> list[reports.ModelSpend]:
    async with store(env) as db:
        await db.keys.delete_key(key_id)
        return await db.reports.spend_by_model(key_id)


@contextmanager
def _forward_signals(child: subprocess.Popen[bytes]) -> Iterator[None]:
    """Ctrl-C reaches the child from the terminal by itself; olga waits for it instead of dying first.

    A handler (not SIG_IGN, which a child would inherit) keeps olga alive; SIGTERM and SIGHUP, which
    may be aimed at olga alone, are passed on to the child.
    """

    def forward(signum: int, _frame: FrameType | None) -> None:
        if signum != signal.SIGINT and child.poll() is None:
            child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _execute(command: list[str], variables: dict[str, str]) -> int:
    try:
        child = subprocess.Popen(command, env={**os.environ, **variables})
    except FileNotFoundError:
        sys.stderr.write(f"error: command not found: {command[0]}\n")
        return EXIT_NOT_FOUND
    except PermissionError:
        sys.stderr.write(f"error: cannot execute {command[0]} (permission denied)\n")
        return EXIT_CANNOT_EXECUTE
    with _forward_signals(child):
        code = child.wait()
    return 128 - code if code < 0 else code


def summary_json(spend: list[reports.ModelSpend], exit_code: int) -> dict[str, Any]:
    return {
        "exit_code": exit_code,
        "requests": sum(s.requests for s in spend),
        "tokens_prompt": sum(s.tokens_prompt for s in spend),
        "tokens_completion": sum(s.tokens_completion for s in spend),
        "cost": pico_to_usd(sum(s.cost_pico for s in spend)),
        "by_model": [
            {
                "model": s.model,
                "requests": s.requests,
                "tokens_prompt": s.tokens_prompt,
                "tokens_completion": s.tokens_completion,
                "cost": pico_to_usd(s.cost_pico),
            }
            for s in spend
        ],
    }


def run(
    ctx: typer.Context,
    command: Annotated[list[str], typer.Argument(metavar="-- COMMAND [ARGS]...", help="The program to run.")],
    credits: Annotated[str | None, typer.Option("--credits", help="Cap the run's spend, in USD.")] = None,
    team: Annotated[
        str | None, typer.Option("--team", help="Team name or id the run's key belongs to.")
    ] = None,
    models: Annotated[str | None, typer.Option("--models", help="Allowed models, comma-separated.")] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the cost summary as JSON (on stderr).")
    ] = False,
) -> None:
    """Run a command with its own short-lived olga key, then print what it cost.

    OPENAI_BASE_URL, OPENAI_API_KEY, ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY point the SDKs at the
    running gateway; the command's exit code is passed through.

    Example: olga run --credits 1 -- python agent.py --task "summarise README.md"
    """
    if not command:
        raise _stop("name a command to run after --, e.g. `olga run -- python agent.py`")
    env = env_of(ctx)
    name = f"run-{Path(command[0]).name[:24]}-{secrets.token_hex(3)}"
    try:
        base = served_url(load_config(env.home))
        key_id, plaintext = asyncio.run(_prepare(env, base, name, credits, team, models))
    except (RunFailed, OlgaError, StoreError) as exc:
        raise _stop(getattr(exc, "message", str(exc))) from None
    code = EXIT_OLGA
    try:
        code = _execute(command, sdk_variables(base, plaintext))
    finally:
        spend = asyncio.run(_finish(env, key_id))
    if json_out:
        stdout, sys.stdout = sys.stdout, sys.stderr
        try:
            print_json(summary_json(spend, code))
        finally:
            sys.stdout = stdout
    else:
        out = error_console()
        out.print(spend_summary(spend, name), markup=False)
        if spend:
            emit(out, spend_listing(spend))
    raise typer.Exit(code)

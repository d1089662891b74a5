"""``olga env --key-name NAME``: mint a key and print the variables that point the SDKs at olga.

``eval "$(olga env --key-name shell)"`` and every OpenAI or Anthropic SDK started from that shell
talks to the local gateway with its own olga key.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from olga_cli.cli.common import JsonOption, env_of, fail, print_json, run, store
from olga_cli.cli.lookups import check_name, find_team_id, parse_credits, parse_duration, parse_models
from olga_cli.config import Config, load_config
from olga_cli.errors import UserError
from olga_cli.store.base import Store
from olga_cli.store.keys import KeyRow

SHELLS = ("sh", "fish")


def gateway_url(config: Config) -> str:
    """Where clients reach the gateway: a wildcard bind address is reached through loopback."""
    host = config.host
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{config.port}"


def served_url(config: Config) -> str:
    """Where clients reach the gateway of this home: the running `olga serve`'s address (started on
    another port, say), else the configured one."""
    from olga_cli.serving import running_url

    return running_url(config.home) or gateway_url(config)


def sdk_variables(base: str, key: str) -> dict[str, str]:
    """What the official SDKs read: OpenAI's base URL ends in /v1, Anthropic's is the root."""
    return {
        "OPENAI_BASE_URL": f"{base}/v1",
        "OPENAI_API_KEY": key,
        "ANTHROPIC_BASE_URL": base,
        "ANTHROPIC_API_KEY": key,
    }


def export_lines(variables: Mapping[str, str], *, shell: str = "sh") -> str:
    if shell == "fish":
        return "".join(f"set -gx {name} {shlex.quote(value)};\n" for name, value in variables.items())
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in variables.items())


async def mint_for_env(
    db: Store,
    *,
    name: str,
    credits: str | None = None,
    team: str | None = None,
    models: str | None = None,
    expires_in: float | None = None,
    home: Path | None = None,
) -> tuple[KeyRow, str]:
    """Mint a key with the options `olga run` and `olga env` share; user mistakes raise UserError."""
    if await db.keys.get_key(name) is not None:
        raise UserError(f"a key named '{name}' exists already; pick another name")
    return await db.keys.create_key(
        name=check_name(name, what="key"),
        team_id=await find_team_id(db, team),
        credits_pico=parse_credits(credits),
        models=parse_models(models, home=home),
        expires_at=None if expires_in is None else time.time() + expires_in,
    )


DEFAULT_CREDITS = "5"  # USD: a shell's key is capped unless told otherwise
DEFAULT_LIFETIME = "24h"


def env(
    ctx: typer.Context,
    key_name: Annotated[
        str | None, typer.Option("--key-name", help="Name of the key for this shell (rotated if it exists).")
    ] = None,
    credits: Annotated[
        str, typer.Option("--credits", help=f"Prepaid credits in USD (default {DEFAULT_CREDITS}).")
    ] = DEFAULT_CREDITS,
    team: Annotated[str | None, typer.Option("--team", help="Team name or id for the key.")] = None,
    models: Annotated[str | None, typer.Option("--models", help="Allowed models, comma-separated.")] = None,
    expires_in: Annotated[
        str, typer.Option("--expires-in", help=f"Lifetime such as 8h or 7d (default {DEFAULT_LIFETIME}).")
    ] = DEFAULT_LIFETIME,
    shell: Annotated[str, typer.Option("--shell", help="sh (bash, zsh) or fish.")] = "sh",
    json_out: JsonOption = False,
) -> None:
    """Print OPENAI_/ANTHROPIC_ BASE_URL and API_KEY as export lines, with a key minted for this shell.

    The key is capped: $5 of credits and a lifetime of 24h unless --credits / --expires-in say
    otherwise. Run it again with the same --key-name and the key is rotated: the old one is revoked
    and a new one minted with the same name (olga keeps only hashes, so a key cannot be shown twice).

    Example: eval "$(olga env --key-name my-shell --credits 2)"
    """
    if not key_name:
        raise fail("--key-name is required, e.g. `olga env --key-name my-shell`")
    if shell not in SHELLS:
        raise fail(f"--shell takes one of {', '.join(SHELLS)}")
    environment = env_of(ctx)
    config = load_config(environment.home)

    async def work() -> tuple[KeyRow, str, bool]:
        lifetime = parse_duration(expires_in, flag="--expires-in")
        parse_credits(credits)  # checked before anything is revoked
        async with store(environment) as db:
            old = await db.keys.get_key(key_name)
            if old is not None:
                await db.keys.delete_key(old.id)
            row, plaintext = await mint_for_env(
                db,
                name=key_name,
                credits=credits,
                team=team,
                models=models,
                expires_in=lifetime,
                home=environment.home,
            )
            return row, plaintext, old is not None

    row, plaintext, rotated = run(work())
    variables = sdk_variables(served_url(config), plaintext)
    if json_out:
        data: dict[str, Any] = {
            "id": row.id,
            "name": row.name,
            "key": plaintext,
            "rotated": rotated,
            "variables": variables,
        }
        print_json(data)
        return
    sys.stdout.write(export_lines(variables, shell=shell))
    what = "rotated" if rotated else "minted"
    sys.stderr.write(
        f"# {what} key '{row.name}' ({row.id}): ${credits} of credits, expires in {expires_in}; "
        f"shown only here. Revoke: olga keys delete {row.name} --yes\n"
    )

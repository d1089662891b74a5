"""Where olga keeps things: its home folder and, in team mode, the URLs of the shared stores.

Apart from ``config`` so that every command can find its store without paying for the whole
configuration (its dataclasses and presets) at start.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from olga_cli.errors import UserError


def resolve_home(flag: str | Path | None, environ: Mapping[str, str] | None = None) -> Path:
    """``--home`` > ``OLGA_HOME`` > the platform's user data folder."""
    if not (chosen := flag or (os.environ if environ is None else environ).get("OLGA_HOME")):
        import platformdirs  # only when no home is given: every command pays for what it imports

        chosen = platformdirs.user_data_dir("olga")
    return Path(chosen).expanduser()


def resolve_database_url(flag: str | None, env: Mapping[str, str]) -> str | None:
    """--database-url, else OLGA_DATABASE_URL; None (SQLite) when neither is set."""
    url = flag or env.get("OLGA_DATABASE_URL") or None
    if url is not None and not url.startswith(("postgresql://", "postgres://")):
        shown = url.rsplit("@", 1)[-1]  # never echo a password
        raise UserError(f"--database-url (or OLGA_DATABASE_URL) takes a postgresql:// URL, not {shown!r}")
    return url


def resolve_redis_url(flag: str | None, env: Mapping[str, str]) -> str | None:
    url = flag or env.get("OLGA_REDIS_URL") or None
    if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
        shown = url.rsplit("@", 1)[-1]
        raise UserError(f"--redis-url (or OLGA_REDIS_URL) takes a redis:// URL, not {shown!r}")
    return url

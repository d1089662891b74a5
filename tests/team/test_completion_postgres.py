"""Completion in team mode: the names of keys, teams, guardrails and tags come from the PostgreSQL
store of --database-url or OLGA_DATABASE_URL (not the home's SQLite file), without the server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.helpers import olga


def _words(line: str, **variables: str) -> tuple[list[str], str]:
    typed = line.split()
    cword = len(typed) if line.endswith(" ") else len(typed) - 1
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "olga_cli"],
        env={
            **os.environ,
            "_OLGA_COMPLETE": "complete_bash",
            "COMP_WORDS": line,
            "COMP_CWORD": str(cword),
            **variables,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout.split(), run.stderr


def test_names_complete_from_the_team_store(home: Path, pg_url_sync: str) -> None:
    url = pg_url_sync
    for args in (
        ("teams", "create", "research"),
        ("keys", "create", "--name", "laptop", "--team", "research", "-q"),
        ("keys", "create", "--name", "lab", "-q"),
        (
            "limits",
            "add",
            "--tag",
            "nightly-eval",
            "--metric",
            "requests",
            "--window",
            "daily",
            "--threshold",
            "9",
        ),
    ):
        assert olga("--database-url", url, *args).exit_code == 0
    olga("keys", "create", "--name", "local-only", "-q")  # in the home's SQLite file, not the team's
    env = {"OLGA_HOME": str(home)}

    names, imported = _words(f"olga --database-url {url} keys show la", **env)
    assert names == ["lab", "laptop"]
    assert "olga_cli.server" not in imported and "aiohttp" not in imported
    assert _words("olga keys show ", **env, OLGA_DATABASE_URL=url)[0] == ["lab", "laptop"]
    assert _words("olga keys create --team r", **env, OLGA_DATABASE_URL=url)[0] == ["research"]
    assert _words("olga logs --tag n", **env, OLGA_DATABASE_URL=url)[0] == ["nightly-eval"]
    assert _words("olga keys show ", **env)[0] == ["local-only"]  # without a URL: the SQLite file


def test_an_unreachable_team_store_completes_nothing_quickly(home: Path) -> None:
    started = time.monotonic()
    names, _ = _words(
        "olga keys show ", OLGA_HOME=str(home), OLGA_DATABASE_URL="postgresql://127.0.0.1:1/none"
    )
    assert names == [] and time.monotonic() - started < 10
    assert _words("olga keys show ", OLGA_HOME=str(home), OLGA_DATABASE_URL="mysql://x")[0] == []

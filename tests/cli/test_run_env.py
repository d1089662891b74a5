"""`olga run` gives one program its own key and reports its spend; `olga env` prints the same variables."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
import textwrap
from pathlib import Path

from tests.cli.terminal import olga
from tests.fakes.gateway import RunningGateway

CHILD = textwrap.dedent("""
    import os, sys
    import openai
    assert os.environ["ANTHROPIC_BASE_URL"] + "/v1" == os.environ["OPENAI_BASE_URL"]
    assert os.environ["ANTHROPIC_API_KEY"] == os.environ["OPENAI_API_KEY"].strip()
    client = openai.OpenAI(max_retries=0)  # reads OPENAI_BASE_URL and OPENAI_API_KEY
    for _ in range(2):
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    print("child says:", reply.choices[0].message.content)
    sys.exit(3)
""")


async def _olga_process(home: Path, port: int, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "OLGA_HOME": str(home), "OLGA_PORT": str(port), "COLUMNS": "200"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "olga_cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def _port(gateway: RunningGateway) -> int:
    return int(gateway.url.rsplit(":", 1)[1])


def _run_keys(home: Path) -> list[tuple[str, int, float | None]]:
    with sqlite3.connect(home / "olga.db") as db:
        return list(db.execute("SELECT name, credits_enabled, deleted_at FROM keys WHERE name LIKE 'run-%'"))


async def test_run_passes_the_exit_code_reports_spend_and_deletes_its_key(
    gateway: RunningGateway, home: Path
) -> None:
    code, stdout, stderr = await _olga_process(
        home, _port(gateway), "run", "--credits", "1", "--json", "--", sys.executable, "-c", CHILD
    )
    assert code == 3, stderr
    assert "child says: Hello from the fake provider." in stdout  # the program's own output is untouched
    summary = json.loads(stderr[stderr.index("{") :])
    assert summary["exit_code"] == 3 and summary["requests"] == 2
    assert summary["tokens_prompt"] == 24 and summary["tokens_completion"] == 14
    assert summary["cost"] == "0.000012"
    assert summary["by_model"][0]["model"].startswith("openai/gpt-4o-mini")
    [(name, capped, deleted_at)] = _run_keys(home)
    assert name.startswith("run-python") and capped == 1 and deleted_at is not None


async def test_run_prints_a_table_by_default(gateway: RunningGateway, home: Path) -> None:
    script = "import openai; openai.OpenAI(max_retries=0).chat.completions.create(model='gpt-4o-mini', messages=[{'role': 'user', 'content': 'x'}])"
    code, _, stderr = await _olga_process(home, _port(gateway), "run", "--", sys.executable, "-c", script)
    assert code == 0, stderr
    assert "1 request, $0.000006" in stderr and "tokens in" in stderr and "gpt-4o-mini" in stderr


async def test_run_without_a_server_or_with_a_missing_command(gateway: RunningGateway, home: Path) -> None:
    code, _, stderr = await _olga_process(home, 1, "run", "--", "true")
    assert code == 125 and "no olga server answers on http://127.0.0.1:1" in stderr
    code, _, stderr = await _olga_process(home, _port(gateway), "run", "--", "no-such-program-olga")
    assert code == 127 and "command not found: no-such-program-olga" in stderr
    assert all(deleted is not None for _, _, deleted in _run_keys(home))  # the key went away all the same
    code, _, stderr = await _olga_process(home, _port(gateway), "run", "--team", "ghosts", "--", "true")
    assert code == 125 and "no team named or with id 'ghosts'" in stderr


async def test_run_passes_death_by_signal_as_128_plus_n(gateway: RunningGateway, home: Path) -> None:
    code, _, _ = await _olga_process(
        home,
        _port(gateway),
        "run",
        "--",
        sys.executable,
        "-c",
        "import os, signal; os.kill(os.getpid(), signal.SIGTERM)",
    )
    assert code == 128 + 15


def test_env_prints_export_lines_with_a_fresh_key(home: Path) -> None:
    result = olga("env", "--key-name", "my-shell", "--credits", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "export OPENAI_BASE_URL=http://127.0.0.1:8000/v1"
    assert lines[2] == "export ANTHROPIC_BASE_URL=http://127.0.0.1:8000"
    key = lines[1].split("=", 1)[1]
    assert key.startswith("sk-olga-") and lines[3] == f"export ANTHROPIC_API_KEY={key}"
    assert "shown only here" in result.stderr
    with sqlite3.connect(home / "olga.db") as db:
        assert db.execute("SELECT credits_enabled FROM keys WHERE name = 'my-shell'").fetchone() == (1,)
    again = olga("env", "--key-name", "my-shell")  # the same name again: rotated, not refused
    assert again.exit_code == 0 and "rotated key 'my-shell'" in again.stderr
    new_key = again.stdout.splitlines()[1].split("=", 1)[1]
    assert new_key != key
    with sqlite3.connect(home / "olga.db") as db:
        rows = db.execute(
            "SELECT deleted_at IS NULL, expires_at - created_at FROM keys WHERE name = 'my-shell' ORDER BY created_at"
        ).fetchall()
    assert [live for live, _ in rows] == [0, 1]  # the old key revoked, the new one live
    assert 86399 < rows[1][1] <= 86401  # capped by default: a day
    fish = olga("env", "--key-name", "fishy", "--shell", "fish").stdout
    assert fish.startswith("set -gx OPENAI_BASE_URL http://127.0.0.1:8000/v1;")
    data = json.loads(olga("env", "--key-name", "as-json", "--json").stdout)
    assert data["variables"]["OPENAI_API_KEY"] == data["key"] and data["name"] == "as-json"
    assert olga_json_balance(data["name"]) == "5"  # default credits
    assert olga("env").exit_code == 1


def olga_json_balance(name: str) -> str:
    return str(json.loads(olga("credits", "balance", name, "--json").stdout)["balance"])


def test_help_has_examples() -> None:
    for command in ("run", "env"):
        assert "Example" in olga(command, "--help").stdout

"""One shape for --json across every command: a list is a bare JSON array, one thing (a key, a
report, a result) a bare JSON object, never wrapped in {"data": ...}; --follow streams one object a
line. Every command that takes --json is run here, so a new one cannot slip past the convention."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from olga_cli.cli.app import app
from tests.cli.seed import make_record, seed_now
from tests.cli.terminal import olga

# Tested where the gateway or PostgreSQL they need runs: `run --json` writes its summary object on
# stderr (tests/cli/test_run_env.py), `store migrate --json` (tests/team/test_store_migrate.py).
ELSEWHERE = {"run", "store migrate"}


def _commands_with_json() -> set[str]:
    found: set[str] = set()

    def walk(command: Any, path: list[str]) -> None:
        subs = getattr(command, "commands", None)
        if any("--json" in getattr(p, "opts", ()) for p in command.params):
            found.add(" ".join(path))
        for name, sub in (subs or {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def _invocations(home: Path) -> list[tuple[str, list[str], type]]:
    prices = home.parent / "prices.json"
    prices.write_text(
        json.dumps({"gpt-4o-mini": {"litellm_provider": "openai", "input_cost_per_token": 1.5e-7}})
    )
    return [
        ("teams create", ["teams", "create", "research"], dict),
        ("keys create", ["keys", "create", "--name", "laptop", "--credits", "5", "--team", "research"], dict),
        ("keys create", ["keys", "create", "--name", "spare"], dict),
        ("keys list", ["keys", "list"], list),
        ("keys show", ["keys", "show", "laptop"], dict),
        ("keys update", ["keys", "update", "laptop", "--rpm", "60"], dict),
        ("keys disable", ["keys", "disable", "spare"], dict),
        ("keys enable", ["keys", "enable", "spare"], dict),
        ("keys delete", ["keys", "delete", "spare", "--yes"], dict),
        ("credits topup", ["credits", "topup", "laptop", "2"], dict),
        ("credits balance", ["credits", "balance", "laptop"], dict),
        ("credits history", ["credits", "history", "laptop"], dict),
        ("teams list", ["teams", "list"], list),
        ("teams show", ["teams", "show", "research"], dict),
        ("teams update", ["teams", "update", "research", "--rate-multiplier", "1.5"], dict),
        (
            "limits add",
            ["limits", "add", "--key", "laptop", "--metric", "cost", "--window", "daily", "--threshold", "3"],
            dict,
        ),
        ("limits list", ["limits", "list"], list),
        ("limits remove", ["limits", "remove", "1"], dict),
        (
            "guardrails add",
            ["guardrails", "add", "--global", "--type", "secrets", "--stage", "input", "--action", "block"],
            dict,
        ),
        ("guardrails list", ["guardrails", "list"], list),
        ("guardrails violations", ["guardrails", "violations"], list),
        ("guardrails remove", ["guardrails", "remove", "1"], dict),
        ("providers presets", ["providers", "presets"], list),
        ("providers add", ["providers", "add", "lmstudio"], dict),
        ("providers add-key", ["providers", "add-key", "openai", "--api-key-env", "OPENAI_KEY_2"], dict),
        ("providers pause", ["providers", "pause", "lmstudio"], dict),
        ("providers resume", ["providers", "resume", "lmstudio"], dict),
        ("providers list", ["providers", "list"], list),
        ("providers show", ["providers", "show", "openai"], dict),
        ("providers remove", ["providers", "remove", "lmstudio"], dict),
        ("providers reset", ["providers", "reset", "openai"], dict),
        ("routes add", ["routes", "add", "--provider", "mock", "--to-model", "echo"], dict),
        ("routes list", ["routes", "list"], list),
        ("routes remove", ["routes", "remove", "1"], dict),
        ("models list", ["models", "list", "--provider", "mock"], list),
        ("models update", ["models", "update", "--from", str(prices), "--dry-run"], dict),
        ("models verify", ["models", "verify"], dict),
        ("logs", ["logs"], list),
        ("logs prune", ["logs", "prune", "--older-than", "30d", "--dry-run"], dict),
        ("generation", ["generation", "gen-shape0001"], dict),
        ("usage", ["usage", "--by", "key"], dict),
        ("env", ["env", "--key-name", "shell"], dict),
        ("doctor", ["doctor"], dict),
        ("teams delete", ["teams", "delete", "research"], dict),
    ]


def test_every_json_command_prints_a_bare_array_or_a_bare_object(home: Path) -> None:
    invocations = _invocations(home)
    seed_now(home, [make_record(id="gen-shape0001")])
    assert _commands_with_json() - ELSEWHERE == {name for name, _, _ in invocations}
    for name, args, shape in invocations:
        result = olga(*args, "--json")
        assert result.exit_code in (0, 1) and result.stdout, (
            name,
            result.output,
        )  # doctor: 1 = a check failed
        data = json.loads(result.stdout)
        assert isinstance(data, shape), (name, data)
        if isinstance(data, dict):
            assert list(data) != ["data"], name  # not wrapped


def test_follow_streams_one_object_a_line(home: Path) -> None:
    """--follow --json is the one exception to a document: a stream, one object per line (tested
    live in tests/cli/test_logs_follow.py); --help says so."""
    assert "one JSON object per line" in olga("logs", "--help").stdout

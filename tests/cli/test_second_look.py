"""The issue's list run again as a user would, piped and at 80 columns: what was still wrong."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.terminal import olga, olga_tty


def test_a_local_provider_shows_its_prices_while_its_server_is_down(home: Path) -> None:
    """`models list --provider ollama` with no Ollama running: its wildcard price, not 'no models'."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[providers.ollama]\nbase_url = "http://127.0.0.1:9/v1"\n')
    result = olga("models", "list", "--provider", "ollama")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].split("\t")[:6] == ["ollama", "*", "-", "$0", "-", "$0"]
    assert "not running" in result.stderr
    listed = json.loads(olga("models", "list", "--provider", "ollama", "--json").stdout)
    assert [m["id"] for m in listed] == ["ollama/*"]
    _, screen = olga_tty("models", "list", width=80)
    assert all(len(line) <= 80 for line in screen.splitlines()) and "lmstudio" in screen


def test_an_uncapped_key_says_so_even_when_its_key_is_captured(home: Path) -> None:
    piped = olga("keys", "create", "--name", "ci")
    assert piped.exit_code == 0 and piped.stdout.startswith("sk-olga-") and piped.stdout.count("\n") == 1
    assert piped.stderr == "note: no --credits: the key is metered but not capped (olga credits topup ci 5)\n"
    quiet = olga("keys", "create", "--name", "ci-2", "-q")
    assert quiet.stderr == "" and quiet.stdout.startswith("sk-olga-")
    capped = olga("keys", "create", "--name", "ci-3", "--credits", "1")
    assert capped.stderr == ""


def test_piped_text_is_never_folded_at_80_columns(home: Path) -> None:
    result = olga("doctor", env={"COLUMNS": "80"})
    lines = result.stdout.splitlines()
    fix = next(line for line in lines if "olga providers add ollama" in line)
    assert "--base-url URL" in fix  # one line, as written, not broken at the 80th column
    assert not any(line.startswith("--base-url") for line in lines)

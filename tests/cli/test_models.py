"""`olga models list`: provider, name, aliases, prices and context windows; --provider filters."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.terminal import olga


def test_table_columns_and_provider_filter(home: Path) -> None:
    result = olga("models", "list", "--provider", "openai")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(line for line in lines if "provider" in line and "context" in line)
    for column in ("provider", "name", "aliases", "input", "cached", "output", "context", "max out"):
        assert column in header
    row = next(line for line in lines if line.split()[:2] == ["openai", "gpt-4o-mini"])
    assert "$0.15" in row and "$0.075" in row and "$0.6" in row and "128k" in row
    assert not any(line.startswith("anthropic") for line in lines)


def test_overlay_aliases_and_multiplier_show(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "model_catalog.json").write_text(
        json.dumps(
            {"models": {"openai/gpt-4o-mini": {"aliases": ["mini", "gpt-4o-mini"], "multiplier": "1.1"}}}
        )
    )
    row = next(
        line
        for line in olga("models", "list").stdout.splitlines()
        if line.split()[:2] == ["openai", "gpt-4o-mini"]
    )
    assert "mini" in row.split()[2] and "1.1" in row


def test_json_and_unknown_provider(home: Path) -> None:
    data = json.loads(olga("models", "list", "--provider", "anthropic", "--json").stdout)
    assert data and all(entry["provider"] == "anthropic" for entry in data)
    assert {"id", "input_per_mtok", "output_per_mtok", "context_window", "aliases"} <= set(data[0])
    missing = olga("models", "list", "--provider", "nope")
    assert missing.exit_code == 1 and "no models for provider 'nope'" in missing.stderr
    assert "Example" in olga("models", "list", "--help").stdout

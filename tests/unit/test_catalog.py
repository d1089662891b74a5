"""The catalog: packaged entries, names and aliases, wildcard providers, overlays merged field by field."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from olga_cli.catalog import load_catalog
from olga_cli.errors import CatalogError


def test_packaged_catalog_resolves_ids_bare_names_and_aliases(home: Path) -> None:
    catalog = load_catalog(home)
    entry = catalog.resolve("openai/gpt-4o-mini")
    assert (
        entry is not None
        and entry.input_per_mtok == Decimal("0.15")
        and entry.output_per_mtok == Decimal("0.60")
    )
    assert catalog.resolve("gpt-4o-mini") is entry
    haiku = catalog.resolve("anthropic/claude-haiku-4-5")
    assert haiku is not None and haiku.cache_write_per_mtok == Decimal("1.25")
    assert catalog.resolve("no-such-model") is None


def test_mock_and_ollama_models_are_free(home: Path) -> None:
    catalog = load_catalog(home)
    echo = catalog.resolve("mock/echo")
    llama = catalog.resolve("ollama/llama3.2")
    assert echo is not None and echo.is_free
    assert llama is not None and llama.is_free and llama.upstream == "llama3.2"


def test_overlay_changes_one_price_and_adds_models(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "model_catalog.json").write_text(
        json.dumps(
            {
                "models": {
                    "openai/gpt-4o-mini": {"input_per_mtok": "0.2"},
                    "vllm/qwen": {"provider": "vllm", "input_per_mtok": 0.1, "output_per_mtok": "0.3"},
                }
            }
        )
    )
    catalog = load_catalog(home)
    mini = catalog.resolve("gpt-4o-mini")
    assert (
        mini is not None and mini.input_per_mtok == Decimal("0.2") and mini.output_per_mtok == Decimal("0.60")
    )
    qwen = catalog.resolve("vllm/qwen")
    # A JSON number is read as its decimal text, never through a binary float.
    assert qwen is not None and qwen.input_per_mtok == Decimal("0.1")


def test_overlay_new_model_needs_prices(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "model_catalog.json").write_text(json.dumps({"models": {"x/y": {"provider": "x"}}}))
    with pytest.raises(CatalogError, match="input_per_mtok"):
        load_catalog(home)


def test_malformed_overlay_names_the_file(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "model_catalog.json").write_text("{not json")
    with pytest.raises(CatalogError, match=r"model_catalog\.json"):
        load_catalog(home)

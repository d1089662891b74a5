"""Keeping prices current: read a public price map, compare it with the catalog, write the overlay.

The source is LiteLLM's ``model_prices_and_context_window.json`` (or any file in its format): one
object per model with ``litellm_provider``, ``mode`` and prices in USD *per token* as JSON numbers
(``"input_cost_per_token": 1.5e-07``). They are read as decimals straight from the text and scaled to
olga's USD per million tokens exactly (``0.15``), never through a float.

Pure functions: fetching the source and writing files is the CLI's job (``cli/models``).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from olga_cli.catalog import Catalog, ModelEntry
from olga_cli.errors import CatalogError

DEFAULT_SOURCE = "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"

# LiteLLM's provider names -> olga's provider (and preset) names.
PROVIDERS: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "groq": "groq",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "openrouter": "openrouter",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "xai": "xai",
    "azure": "azure",
}
_ENDPOINTS = {"chat": ["chat"], "responses": ["responses"], "embedding": ["embeddings"]}

# LiteLLM's per-token price fields -> olga's per-million fields.
PRICE_FIELDS: dict[str, str] = {
    "input_cost_per_token": "input_per_mtok",
    "output_cost_per_token": "output_per_mtok",
    "cache_read_input_token_cost": "cached_input_per_mtok",
    "cache_creation_input_token_cost": "cache_write_per_mtok",
    "output_cost_per_reasoning_token": "reasoning_per_mtok",
}
_LIMIT_FIELDS = {"max_input_tokens": "context_window", "max_output_tokens": "max_output_tokens"}
COMPARED = ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok", "cache_write_per_mtok")


@dataclass(frozen=True, slots=True)
class Change:
    model: str
    field: str
    old: str | None
    new: str | None


@dataclass(slots=True)
class Diff:
    new_models: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    overlay: dict[str, dict[str, Any]] = field(default_factory=dict)  # what goes into the overlay

    def to_json(self) -> dict[str, Any]:
        return {
            "new_models": self.new_models,
            "price_changes": [
                {"model": c.model, "field": c.field, "old": c.old, "new": c.new} for c in self.changes
            ],
            "unchanged": self.unchanged,
        }


def per_mtok(value: Any, what: str) -> str:
    """A per-token price as read from the JSON text -> USD per million tokens, exact, no exponent."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise CatalogError(f"{what} must be a number, not {value!r}")
    try:
        scaled = (Decimal(value) * 1_000_000).normalize()
    except ArithmeticError:
        raise CatalogError(f"{what} must be a number, not {value!r}") from None
    if not scaled.is_finite() or scaled < 0:
        raise CatalogError(f"{what} must be a price of zero or more, not {value!r}")
    return format(scaled, "f")


def parse_price_map(text: str, source: str) -> dict[str, dict[str, Any]]:
    """The models of a LiteLLM-format price map that olga can serve, as catalog entries by olga id."""
    try:
        document = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise CatalogError(f"{source} must be a JSON object of models (LiteLLM's price map format)")
    entries: dict[str, dict[str, Any]] = {}
    for key, raw in document.items():
        entry = _entry(key, raw, source)
        if entry is not None:
            entries.setdefault(entry.pop("id"), entry)  # "gpt-4o" and "openai/gpt-4o": first one wins
    if not entries:
        raise CatalogError(f"{source} holds no priced chat or embedding model of a provider olga knows")
    return entries


def _entry(key: str, raw: Any, source: str) -> dict[str, Any] | None:
    if key == "sample_spec" or not isinstance(raw, dict):
        return None
    provider = PROVIDERS.get(str(raw.get("litellm_provider", "")))
    endpoints = _ENDPOINTS.get(str(raw.get("mode", "chat")))
    if provider is None or endpoints is None or "input_cost_per_token" not in raw:
        return None
    prefix = f"{raw['litellm_provider']}/"
    name = key[len(prefix) :] if key.startswith(prefix) else key
    entry: dict[str, Any] = {"id": f"{provider}/{name}", "provider": provider, "upstream": name}
    for theirs, ours in PRICE_FIELDS.items():
        if raw.get(theirs) is not None:
            entry[ours] = per_mtok(raw[theirs], f"{source}: {key}.{theirs}")
    entry.setdefault("output_per_mtok", "0")  # embeddings have no output
    for theirs, ours in _LIMIT_FIELDS.items():
        value = raw.get(theirs)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            entry[ours] = value
    entry["endpoints"] = endpoints
    if raw.get("supports_reasoning") is True:
        entry["reasoning"] = True  # takes a reasoning budget (olga translates thinking / effort to it)
    return entry


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def diff(catalog: Catalog, incoming: dict[str, dict[str, Any]]) -> Diff:
    """What the price map would change in ``catalog``: new models, and each price that moved."""
    current = {e.id: e for e in catalog.entries()}
    result = Diff()
    for model_id, fields in sorted(incoming.items()):
        entry = current.get(model_id)
        if entry is None:
            result.new_models.append(model_id)
            result.overlay[model_id] = fields
            continue
        changed = _changes(entry, fields)
        if not changed:
            result.unchanged += 1
            continue
        result.changes += changed
        result.overlay[model_id] = {c.field: c.new for c in changed}
    return result


def _changes(entry: ModelEntry, fields: dict[str, Any]) -> list[Change]:
    changes = []
    for name in (*COMPARED, "reasoning_per_mtok"):
        if name not in fields:
            continue  # the map says nothing: keep what olga has
        old = _text(getattr(entry, name))
        if old is None or Decimal(old) != Decimal(fields[name]):
            changes.append(Change(entry.id, name, old, fields[name]))
    return changes


def new_version(text: str, *, now: float | None = None) -> str:
    """The overlay's catalog version: the day it was fetched and a digest of what was fetched."""
    day = time.strftime("%Y-%m-%d", time.gmtime(time.time() if now is None else now))
    return f"{day}+{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def merged_overlay(existing: dict[str, Any], found: Diff, *, version: str, source: str) -> dict[str, Any]:
    """The overlay document to write: the user's own entries kept, the map's changes on top."""
    models = {k: dict(v) for k, v in (existing.get("models") or {}).items() if isinstance(v, dict)}
    for model_id, fields in found.overlay.items():
        models.setdefault(model_id, {}).update(fields)
    return {"version": version, "source": source, "models": dict(sorted(models.items()))}

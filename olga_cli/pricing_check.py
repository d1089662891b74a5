"""Does every model olga may route to have a price? (``olga models verify``)

A model is checked where the configuration or the store names it: routing rules (their target model at
their provider), fallbacks (both sides), and the allow-lists of keys and teams. A request for a model
without a price is refused (400 ``unknown_model_pricing``); this finds such models before a request does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from olga_cli.catalog import Catalog, ModelEntry
from olga_cli.config import Config


@dataclass(slots=True)
class Check:
    model: str
    used_by: list[str]
    priced_by: str | None  # the catalog entry (or wildcard) that prices it

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "used_by": self.used_by,
            "priced_by": self.priced_by,
            "ok": bool(self.priced_by),
        }


def _priced(config: Config, catalog: Catalog, model: str, provider: str | None = None) -> ModelEntry | None:
    if provider is not None:
        name = model[len(provider) + 1 :] if model.startswith(provider + "/") else model
        return catalog.resolve_for_provider(provider, name)
    entry = catalog.resolve(model)
    prefix, slash, name = model.partition("/")
    if entry is None and slash and prefix in config.providers:
        return catalog.resolve_for_provider(prefix, name)  # "myproxy/gpt-4o-mini", as routing reads it
    return entry


def _wanted(
    config: Config, allow_lists: Mapping[str, tuple[str, ...]]
) -> dict[tuple[str, str | None], list[str]]:
    wanted: dict[tuple[str, str | None], list[str]] = {}
    for rule in config.routes:
        model = rule.to_model or rule.model
        if model is not None:
            wanted.setdefault((model, rule.provider), []).append(f"route {rule.id}")
    for source, targets in config.fallbacks.items():
        for model in (source, *targets):
            wanted.setdefault((model, None), []).append(f"fallbacks of {source}")
    for owner, models in allow_lists.items():
        for model in models:
            if not model.endswith("/*"):  # "openai/*" allows a provider's models; nothing to price
                wanted.setdefault((model, None), []).append(owner)
    return wanted


def check(config: Config, catalog: Catalog, *, allow_lists: Mapping[str, tuple[str, ...]]) -> list[Check]:
    checks = []
    for (model, provider), used_by in sorted(_wanted(config, allow_lists).items(), key=lambda i: i[0][0]):
        entry = _priced(config, catalog, model, provider)
        shown = f"{provider}/{model}" if provider and not model.startswith(provider + "/") else model
        checks.append(Check(shown, used_by, entry.id if entry is not None else None))
    return checks

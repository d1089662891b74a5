"""Where a request goes: routing rules top to bottom, else the model's own provider; then fallbacks.

A plan is the ordered list of targets to try. Each target is a provider, the model name it knows, and
the catalog entry that prices it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from olga_cli.catalog import Catalog, ModelEntry
from olga_cli.config import Config, ProviderConfig
from olga_cli.errors import InvalidRequest, NotFound, ProviderPaused, ProviderUnavailable, UnknownModelPricing


@dataclass(frozen=True, slots=True)
class Target:
    provider: ProviderConfig
    entry: ModelEntry
    upstream_model: str

    @property
    def model_id(self) -> str:
        return f"{self.provider.name}/{self.upstream_model}"


def pinned_provider(config: Config, name: str) -> ProviderConfig:
    provider = config.providers.get(name)
    if provider is None:
        raise NotFound(
            f"No provider named '{name}'. Known providers: {', '.join(sorted(config.providers))}; "
            "add one with `olga providers add`."
        )
    return provider


def _provider_of(config: Config, name: str, model: str) -> ProviderConfig:
    provider = config.providers.get(name)
    if provider is None:
        raise ProviderUnavailable(
            f"Model '{model}' is served by provider '{name}', which is not connected: "
            f"add it with `olga providers add {name} --preset ...` (see `olga providers presets`) "
            "or `--kind ... --base-url ...`."
        )
    return provider


def _unknown(model: str) -> UnknownModelPricing:
    return UnknownModelPricing(
        f"Unknown model pricing for '{model}': olga cannot meter a model that is not in its catalog. "
        "Refresh the prices with `olga models update`, see `olga models list`, or price it in "
        "<home>/model_catalog.json."
    )


def target_for(
    config: Config,
    catalog: Catalog,
    *,
    api_format: str,
    model: str,
    pinned: ProviderConfig | None = None,
) -> Target:
    if not model:
        raise InvalidRequest(
            "'model' is required: name a model such as 'mock/echo' or 'openai/gpt-4o-mini'.", param="model"
        )
    if pinned is not None:
        name = model[len(pinned.name) + 1 :] if model.startswith(pinned.name + "/") else model
        entry = catalog.resolve_for_provider(pinned.name, name)
        if entry is None:
            raise _unknown(model)
        upstream = entry.upstream if entry.provider == pinned.name else name
        return Target(pinned, entry, upstream)
    for rule in config.routes:
        if rule.matches(api_format, model):
            provider = _provider_of(config, rule.provider, model)
            name = rule.to_model or model
            if name.startswith(provider.name + "/"):
                name = name[len(provider.name) + 1 :]
            entry = catalog.resolve_for_provider(provider.name, name)
            if entry is None:
                raise _unknown(rule.to_model or model)
            upstream = entry.upstream if entry.provider == provider.name else name
            return Target(provider, entry, upstream)
    entry = catalog.resolve(model)
    prefix, slash, name = model.partition("/")
    if entry is None and slash and prefix in config.providers:
        # "myproxy/gpt-4o-mini": a provider the user connected, serving a model the catalog prices.
        return target_for(config, catalog, api_format=api_format, model=name, pinned=config.providers[prefix])
    if entry is None:
        raise _unknown(model)
    return Target(_provider_of(config, entry.provider, model), entry, entry.upstream)


def plan(
    config: Config,
    catalog: Catalog,
    *,
    api_format: str,
    models: Sequence[str],
    pinned: ProviderConfig | None = None,
    fallbacks: Mapping[str, Sequence[str]] | None = None,
) -> list[Target]:
    """Targets in the order to try: each requested model, then its configured fallbacks."""
    targets: list[Target] = []
    seen: set[tuple[str, str]] = set()
    queue = list(models)
    table = config.fallbacks if fallbacks is None else fallbacks
    index = 0
    while index < len(queue):
        model = queue[index]
        index += 1
        target = target_for(
            config, catalog, api_format=api_format, model=model, pinned=pinned if index == 1 else None
        )
        if (target.provider.name, target.upstream_model) in seen:
            continue
        seen.add((target.provider.name, target.upstream_model))
        targets.append(target)
        for extra in table.get(model, ()) or table.get(target.entry.id, ()):
            if extra not in queue:
                queue.append(extra)
    return targets


def check_available(target: Target) -> None:
    if target.provider.paused:
        raise ProviderPaused(
            f"Provider '{target.provider.name}' is paused by its operator; "
            f"`olga providers resume {target.provider.name}` turns it back on."
        )
